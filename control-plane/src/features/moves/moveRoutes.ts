import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../errors.js';
import { parseLimit } from '../../http/queryParams.js';
import { anyValue, body, digits, query, resourceId } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import { MOVE_STATES, type MoveState } from './Move.js';
import type { CreateMovesInput, MoveService } from './MoveService.js';

const moveId = { type: 'string', pattern: '^mv_[0-9a-f]{16}$' } as const;
const batchId = { type: 'string', pattern: '^mb_[0-9a-f]{16}$' } as const;
const reasonBody = body({ reason: { type: 'string', maxLength: 2000 } });

const createBody = body(
  {
    orgIds: { type: 'array', minItems: 1, maxItems: 100_000, items: anyValue },
    from: resourceId,
    to: resourceId,
    percent: { type: 'integer', minimum: 0, maximum: 100 },
    range: body({ lo: anyValue, hi: anyValue }, ['lo', 'hi']),
    concurrency: { type: 'integer', minimum: 1, maximum: 32 },
    fenceDeadlineMs: { type: 'integer', minimum: 50, maximum: 10_000 },
    graceSeconds: { type: 'integer', minimum: 0, maximum: 604_800 },
    reason: { type: 'string', maxLength: 2000 },
  },
  ['to'],
);

export function registerMoveRoutes(app: FastifyInstance, moves: MoveService): void {
  app.post<{ Body: CreateMovesInput }>(
    '/v1/moves',
    { config: { auth: ALLOW.shardMapWrite }, schema: { body: createBody } },
    async (request, reply) => reply.code(202).send(await moves.create(actorOf(request), request.body)),
  );

  app.get<{ Querystring: { state?: string; batchId?: string; orgId?: string; limit?: string; before?: string } }>(
    '/v1/moves',
    {
      config: { auth: ALLOW.read },
      schema: { querystring: query({ state: { type: 'string' }, batchId, orgId: { type: 'string' }, limit: digits, before: moveId }) },
    },
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
        limit: parseLimit(q.limit, 100, 1000),
      });
    },
  );

  app.get<{ Params: { id: string } }>('/v1/moves/:id', { config: { auth: ALLOW.read } }, async (request) => moves.get(request.params.id));

  app.get<{ Params: { id: string } }>('/v1/move-batches/:id', { config: { auth: ALLOW.read } }, async (request) =>
    moves.batch(request.params.id),
  );

  for (const action of ['resume', 'abort', 'rollback', 'complete'] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
      `/v1/moves/:id/${action}`,
      {
        config: { auth: ALLOW.shardMapWrite },
        schema: { body: reasonBody },
        // The body is optional: none at all reads as {}.
        preValidation: async (request) => {
          request.body ??= {};
        },
      },
      async (request) => moves[action](actorOf(request), request.params.id, request.body?.reason),
    );
  }
}
