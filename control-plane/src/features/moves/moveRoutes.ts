import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { MOVES_LIMIT_DEFAULT, MOVES_LIMIT_MAX } from '../../api/rules.js';
import { InvalidInputError } from '../../errors.js';
import { parseLimit } from '../../http/queryParams.js';
import { responses } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import { MOVE_STATES, type MoveState } from './Move.js';
import type { MoveService } from './MoveService.js';
import { CreatedMoves, CreateMovesBody, Move, MoveActionBody, MoveBatch, MoveList, MoveListQuery, MoveParams } from './moveSchemas.js';

export function registerMoveRoutes(fastify: FastifyInstance, moves: MoveService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/moves',
    {
      config: { auth: ALLOW.shardMapWrite },
      schema: { summary: 'Move orgs to another cluster, online', body: CreateMovesBody, response: responses({ 202: CreatedMoves }) },
    },
    async (request, reply) => reply.code(202).send(await moves.create(actorOf(request), request.body)),
  );

  app.get(
    '/v1/moves',
    { config: { auth: ALLOW.read }, schema: { summary: 'List moves', querystring: MoveListQuery, response: responses({ 200: MoveList }) } },
    async (request) => {
      const q = request.query;
      if (q.state !== undefined && !MOVE_STATES.includes(q.state as MoveState)) {
        throw new InvalidInputError(`state '${q.state}' is not a move state`, {
          details: [{ field: 'state', message: `must be one of ${MOVE_STATES.join(', ')}` }],
        });
      }
      return moves.list({
        ...(q.state === undefined ? {} : { state: q.state as MoveState }),
        ...(q.batchId === undefined ? {} : { batchId: q.batchId }),
        ...(q.orgId === undefined ? {} : { orgId: parseOrgIdText(q.orgId, 'orgId') }),
        ...(q.before === undefined ? {} : { before: q.before }),
        limit: parseLimit(q.limit, MOVES_LIMIT_DEFAULT, MOVES_LIMIT_MAX),
      });
    },
  );

  app.get(
    '/v1/moves/:id',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'One move, with its tables and events', params: MoveParams, response: responses({ 200: Move }) },
    },
    async (request) => moves.get(request.params.id),
  );

  app.get(
    '/v1/move-batches/:id',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'A batch of moves, with counts by state', params: MoveParams, response: responses({ 200: MoveBatch }) },
    },
    async (request) => moves.batch(request.params.id),
  );

  for (const action of ['resume', 'abort', 'rollback', 'complete'] as const) {
    app.post(
      `/v1/moves/:id/${action}`,
      {
        config: { auth: ALLOW.shardMapWrite },
        schema: {
          summary: `${action[0]?.toUpperCase()}${action.slice(1)} a move`,
          params: MoveParams,
          body: MoveActionBody,
          response: responses({ 200: Move }),
        },
        // The body is optional: none at all reads as {}.
        preValidation: async (request) => {
          request.body ??= {};
        },
      },
      async (request) => moves[action](actorOf(request), request.params.id, request.body?.reason),
    );
  }
}
