import type { FastifyInstance } from 'fastify';
import { parseLimit } from '../../http/queryParams.js';
import { anyValue, body, digits, mutationMeta, query } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import { FLAG_PATTERN } from '../rollouts/rolloutRoutes.js';
import { type CohortService, MAX_PILOT_COUNT, type SelectPilotInput } from './CohortService.js';

const selectSchema = body(
  {
    name: { type: 'string', pattern: FLAG_PATTERN },
    count: { type: 'integer', minimum: 1, maximum: MAX_PILOT_COUNT },
    seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    exclude: { type: 'array', maxItems: 10_000_000, items: anyValue },
    reason: mutationMeta.reason,
  },
  ['name', 'count', 'seed'],
);

export function registerCohortRoutes(app: FastifyInstance, cohorts: CohortService): void {
  app.post<{ Body: SelectPilotInput }>(
    '/v1/pilot/select',
    { config: { auth: ALLOW.rolloutWrite }, schema: { body: selectSchema } },
    async (request, reply) => reply.code(201).send(await cohorts.selectPilot(actorOf(request), request.body)),
  );

  app.get('/v1/cohorts', { config: { auth: ALLOW.read } }, async () => ({ cohorts: await cohorts.list() }));

  app.get<{ Params: { name: string }; Querystring: { limit?: string; after?: string } }>(
    '/v1/cohorts/:name',
    { config: { auth: ALLOW.read }, schema: { querystring: query({ limit: digits, after: { type: 'string' } }) } },
    async (request) =>
      cohorts.page(request.params.name, {
        limit: parseLimit(request.query.limit, 1000, 100_000),
        afterOrgId: request.query.after === undefined ? undefined : parseOrgIdText(request.query.after, 'after'),
      }),
  );
}
