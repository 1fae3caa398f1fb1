import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { PLACEMENTS_LIMIT_DEFAULT, PLACEMENTS_LIMIT_MAX } from '../../api/rules.js';
import { deleteMeta } from '../../http/deleteMeta.js';
import { parseLimit } from '../../http/queryParams.js';
import { DeleteMetaQuery, responses } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { PlacementService } from './PlacementService.js';
import {
  PlacementChange,
  PlacementList,
  PlacementListQuery,
  PlacementParams,
  PlacementRemoved,
  SetPlacementBody,
} from './placementSchemas.js';

export function registerPlacementRoutes(fastify: FastifyInstance, placements: PlacementService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/placements',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'Per-org placements, by org id', querystring: PlacementListQuery, response: responses({ 200: PlacementList }) },
    },
    async (request) =>
      placements.list({
        ...(request.query.clusterId === undefined ? {} : { clusterId: request.query.clusterId }),
        ...(request.query.after === undefined ? {} : { afterOrgId: parseOrgIdText(request.query.after, 'after') }),
        limit: parseLimit(request.query.limit, PLACEMENTS_LIMIT_DEFAULT, PLACEMENTS_LIMIT_MAX),
      }),
  );

  app.put(
    '/v1/placements/:orgId',
    {
      config: { auth: ALLOW.shardMapWrite },
      schema: {
        summary: 'Pin an org to a cluster (epoch + 1 on every change)',
        params: PlacementParams,
        body: SetPlacementBody,
        response: responses({ 200: PlacementChange }),
      },
    },
    async (request) => placements.set(actorOf(request), parseOrgIdText(request.params.orgId, 'orgId'), request.body),
  );

  app.delete(
    '/v1/placements/:orgId',
    {
      config: { auth: ALLOW.shardMapWrite },
      schema: {
        summary: "Remove an org's pin",
        params: PlacementParams,
        querystring: DeleteMetaQuery,
        response: responses({ 200: PlacementRemoved }),
      },
    },
    async (request) => placements.remove(actorOf(request), parseOrgIdText(request.params.orgId, 'orgId'), deleteMeta(request)),
  );
}
