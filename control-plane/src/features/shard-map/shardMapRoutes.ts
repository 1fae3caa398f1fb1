import type { FastifyInstance } from 'fastify';
import { parseCount, parseLimit } from '../../http/queryParams.js';
import { anyValue, body, digits, mutationMeta, query, resourceId } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { MutationMeta } from '../clusters/ClusterService.js';
import type { ShardMapHistoryReadModel } from './ShardMapHistoryReadModel.js';
import type { RangeInput, ShardMapService } from './ShardMapService.js';

const range = body({ lo: anyValue, hi: anyValue, clusterId: resourceId }, ['lo', 'hi', 'clusterId']);

export function registerShardMapRoutes(app: FastifyInstance, shardMap: ShardMapService, history: ShardMapHistoryReadModel): void {
  app.get('/v1/shard-map', { config: { auth: ALLOW.read } }, async () => shardMap.get());

  app.put<{ Body: MutationMeta & { ranges: RangeInput[] } }>(
    '/v1/shard-map/ranges',
    {
      config: { auth: ALLOW.shardMapWrite },
      schema: { body: body({ ranges: { type: 'array', maxItems: 100_000, items: range }, ...mutationMeta }, ['ranges']) },
    },
    async (request) => shardMap.setRanges(actorOf(request), request.body),
  );

  app.post<{ Body: MutationMeta & { at: unknown } }>(
    '/v1/shard-map/split',
    { config: { auth: ALLOW.shardMapWrite }, schema: { body: body({ at: anyValue, ...mutationMeta }, ['at']) } },
    async (request) => shardMap.split(actorOf(request), request.body),
  );

  app.post<{ Body: MutationMeta & { lo: unknown; hi: unknown; clusterId: string } }>(
    '/v1/shard-map/assign',
    {
      config: { auth: ALLOW.shardMapWrite },
      schema: { body: body({ lo: anyValue, hi: anyValue, clusterId: resourceId, ...mutationMeta }, ['lo', 'hi', 'clusterId']) },
    },
    async (request) => shardMap.assign(actorOf(request), request.body),
  );

  app.post<{ Body: MutationMeta & { lo: unknown; hi: unknown } }>(
    '/v1/shard-map/merge',
    { config: { auth: ALLOW.shardMapWrite }, schema: { body: body({ lo: anyValue, hi: anyValue, ...mutationMeta }, ['lo', 'hi']) } },
    async (request) => shardMap.merge(actorOf(request), request.body),
  );

  app.get<{ Querystring: { limit?: string; before?: string } }>(
    '/v1/shard-map/history',
    { config: { auth: ALLOW.read }, schema: { querystring: query({ limit: digits, before: digits }) } },
    async (request) => ({
      changes: await history.list({
        limit: parseLimit(request.query.limit, 50, 1000),
        beforeVersion: parseCount(request.query.before, 'before'),
      }),
    }),
  );
}
