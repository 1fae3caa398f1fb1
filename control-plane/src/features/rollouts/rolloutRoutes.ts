import type { FastifyInstance } from 'fastify';
import { parseCount, parseLimit } from '../../http/queryParams.js';
import { body, digits, mutationMeta, query } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { CreateRolloutInput, RolloutService, TransitionMeta } from './RolloutService.js';

export const FLAG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';
export const GROUP_ID_PATTERN = '^[A-Za-z0-9._:-]{1,100}$';

const percent = { type: 'integer', minimum: 0, maximum: 100 } as const;

const check = body(
  {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
    query: { type: 'string', minLength: 1, maxLength: 4000 },
    op: { type: 'string', enum: ['<', '<=', '>', '>='] },
    threshold: { type: 'number' },
  },
  ['name', 'query', 'op', 'threshold'],
);

const stage = body(
  {
    percent,
    minDwellSeconds: { type: 'integer', minimum: 0, maximum: 2_592_000 },
    checks: { type: 'array', maxItems: 20, items: check },
  },
  ['percent'],
);

const analysis = body({
  intervalSeconds: { type: 'integer', minimum: 1, maximum: 86_400 },
  failureLimit: { type: 'integer', minimum: 1, maximum: 1000 },
  minSamples: { type: 'integer', minimum: 0, maximum: 1000 },
  noData: { type: 'string', enum: ['pass', 'fail', 'hold'] },
});

const createSchema = body(
  {
    flag: { type: 'string', pattern: FLAG_PATTERN },
    description: { type: 'string', maxLength: 2000 },
    groupId: { type: 'string', pattern: GROUP_ID_PATTERN },
    pilotCohort: { anyOf: [{ type: 'string', pattern: FLAG_PATTERN }, { type: 'null' }] },
    mode: { type: 'string', enum: ['manual', 'automatic'] },
    onFailure: { type: 'string', enum: ['pause', 'rollback'] },
    analysis,
    stages: { type: 'array', minItems: 1, maxItems: 20, items: stage },
    ...mutationMeta,
  },
  ['flag', 'stages'],
);

const transitionSchema = { body: body({ ...mutationMeta }) };

type FlagParams = { Params: { flag: string } };

export function registerRolloutRoutes(app: FastifyInstance, rollouts: RolloutService): void {
  app.get('/v1/rollouts', { config: { auth: ALLOW.configRead } }, async () => ({ rollouts: await rollouts.list() }));

  app.get<FlagParams>('/v1/rollouts/:flag', { config: { auth: ALLOW.configRead } }, async (request) =>
    rollouts.detail(request.params.flag),
  );

  app.get<FlagParams & { Querystring: { limit?: string; before?: string } }>(
    '/v1/rollouts/:flag/analyses',
    { config: { auth: ALLOW.configRead }, schema: { querystring: query({ limit: digits, before: digits }) } },
    async (request) => ({
      analyses: await rollouts.analyses(request.params.flag, {
        limit: parseLimit(request.query.limit, 50, 1000),
        beforeId: parseCount(request.query.before, 'before'),
      }),
    }),
  );

  app.post<{ Body: CreateRolloutInput }>(
    '/v1/rollouts',
    { config: { auth: ALLOW.rolloutWrite }, schema: { body: createSchema } },
    async (request, reply) => reply.code(201).send(await rollouts.create(actorOf(request), request.body)),
  );

  app.post<FlagParams & { Body: TransitionMeta & { percent: number } }>(
    '/v1/rollouts/:flag/set',
    { config: { auth: ALLOW.rolloutWrite }, schema: { body: body({ percent, ...mutationMeta }, ['percent']) } },
    async (request) => rollouts.set(actorOf(request), request.params.flag, request.body.percent, request.body),
  );

  for (const verb of ['advance', 'pause', 'resume', 'rollback', 'kill'] as const) {
    app.post<FlagParams & { Body: TransitionMeta | undefined }>(
      `/v1/rollouts/:flag/${verb}`,
      { config: { auth: ALLOW.rolloutWrite }, schema: transitionSchema },
      async (request) => rollouts[verb](actorOf(request), request.params.flag, request.body ?? {}),
    );
  }
}
