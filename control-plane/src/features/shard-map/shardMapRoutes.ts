import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX } from '../../api/rules.js';
import { parseCount, parseLimit } from '../../http/queryParams.js';
import { responses } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { ShardMapHistoryReadModel } from './ShardMapHistoryReadModel.js';
import type { ShardMapService } from './ShardMapService.js';
import { AssignBody, History, HistoryQuery, MergeBody, RangesResult, SetRangesBody, ShardMap, SplitBody } from './shardMapSchemas.js';

export function registerShardMapRoutes(fastify: FastifyInstance, shardMap: ShardMapService, history: ShardMapHistoryReadModel): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const changed = responses({ 200: RangesResult });
  app.get(
    '/v1/shard-map',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'The ranges and how many placements override them', response: responses({ 200: ShardMap }) },
    },
    async () => shardMap.get(),
  );

  app.put(
    '/v1/shard-map/ranges',
    { config: { auth: ALLOW.shardMapWrite }, schema: { summary: 'Replace every range', body: SetRangesBody, response: changed } },
    async (request) => shardMap.setRanges(actorOf(request), request.body),
  );

  app.post(
    '/v1/shard-map/split',
    { config: { auth: ALLOW.shardMapWrite }, schema: { summary: 'Split a range', body: SplitBody, response: changed } },
    async (request) => shardMap.split(actorOf(request), request.body),
  );

  app.post(
    '/v1/shard-map/assign',
    { config: { auth: ALLOW.shardMapWrite }, schema: { summary: 'Assign ranges to a cluster', body: AssignBody, response: changed } },
    async (request) => shardMap.assign(actorOf(request), request.body),
  );

  app.post(
    '/v1/shard-map/merge',
    { config: { auth: ALLOW.shardMapWrite }, schema: { summary: 'Merge adjacent ranges', body: MergeBody, response: changed } },
    async (request) => shardMap.merge(actorOf(request), request.body),
  );

  app.get(
    '/v1/shard-map/history',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'Shard-map changes, newest first', querystring: HistoryQuery, response: responses({ 200: History }) },
    },
    async (request) => ({
      changes: await history.list({
        limit: parseLimit(request.query.limit, HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX),
        beforeVersion: parseCount(request.query.before, 'before'),
      }),
    }),
  );
}
