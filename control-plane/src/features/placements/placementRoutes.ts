import type { PlacementState } from '@orgplane/runtime/wire';
import type { FastifyInstance } from 'fastify';
import { deleteMeta, deleteMetaSchema } from '../../http/deleteMeta.js';
import { parseLimit } from '../../http/queryParams.js';
import { body, digits, mutationMeta, query, resourceId } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { MutationMeta } from '../clusters/ClusterService.js';
import type { PlacementService } from './PlacementService.js';

export function registerPlacementRoutes(app: FastifyInstance, placements: PlacementService): void {
  app.get<{ Querystring: { clusterId?: string; limit?: string; after?: string } }>(
    '/v1/placements',
    { config: { auth: ALLOW.read }, schema: { querystring: query({ clusterId: resourceId, limit: digits, after: { type: 'string' } }) } },
    async (request) =>
      placements.list({
        ...(request.query.clusterId === undefined ? {} : { clusterId: request.query.clusterId }),
        ...(request.query.after === undefined ? {} : { afterOrgId: parseOrgIdText(request.query.after, 'after') }),
        limit: parseLimit(request.query.limit, 100, 10_000),
      }),
  );

  app.put<{ Params: { orgId: string }; Body: MutationMeta & { clusterId: string; state?: PlacementState } }>(
    '/v1/placements/:orgId',
    {
      config: { auth: ALLOW.shardMapWrite },
      schema: {
        body: body({ clusterId: resourceId, state: { type: 'string', enum: ['active', 'fenced', 'moved'] }, ...mutationMeta }, [
          'clusterId',
        ]),
      },
    },
    async (request) => placements.set(actorOf(request), parseOrgIdText(request.params.orgId, 'orgId'), request.body),
  );

  app.delete<{ Params: { orgId: string } }>(
    '/v1/placements/:orgId',
    { config: { auth: ALLOW.shardMapWrite }, schema: deleteMetaSchema },
    async (request) => placements.remove(actorOf(request), parseOrgIdText(request.params.orgId, 'orgId'), deleteMeta(request)),
  );
}
