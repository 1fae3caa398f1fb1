import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { responses } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { RebalanceService } from './RebalanceService.js';
import { RebalanceBody, RebalancePlanned, RebalanceStarted } from './rebalanceSchemas.js';

export function registerRebalanceRoutes(fastify: FastifyInstance, rebalance: RebalanceService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/shard-map/rebalance',
    {
      config: { auth: ALLOW.shardMapWrite },
      schema: {
        summary: "Move a share of a cluster's orgs (or rows) to another cluster as range moves",
        body: RebalanceBody,
        response: responses({ 200: RebalancePlanned, 202: RebalanceStarted }),
      },
    },
    async (request, reply) => {
      const result = await rebalance.rebalance(actorOf(request), request.body);
      return reply.code('batch' in result ? 202 : 200).send(result);
    },
  );
}
