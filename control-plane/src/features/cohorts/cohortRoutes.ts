import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { COHORT_PAGE_LIMIT_DEFAULT, COHORT_PAGE_LIMIT_MAX } from '../../api/rules.js';
import { parseLimit } from '../../http/queryParams.js';
import { responses } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { CohortService } from './CohortService.js';
import { CohortList, CohortPage, CohortPageQuery, CohortParams, PilotSelection, SelectPilotBody } from './cohortSchemas.js';

export function registerCohortRoutes(fastify: FastifyInstance, cohorts: CohortService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/pilot/select',
    {
      config: { auth: ALLOW.rolloutWrite },
      schema: { summary: 'Select a pilot cohort', body: SelectPilotBody, response: responses({ 201: PilotSelection }) },
    },
    async (request, reply) => reply.code(201).send(await cohorts.selectPilot(actorOf(request), request.body)),
  );

  app.get(
    '/v1/cohorts',
    { config: { auth: ALLOW.read }, schema: { summary: 'List cohorts', response: responses({ 200: CohortList }) } },
    async () => ({ cohorts: await cohorts.list() }),
  );

  app.get(
    '/v1/cohorts/:name',
    {
      config: { auth: ALLOW.read },
      schema: {
        summary: 'A cohort and one page of its members',
        params: CohortParams,
        querystring: CohortPageQuery,
        response: responses({ 200: CohortPage }),
      },
    },
    async (request) =>
      cohorts.page(request.params.name, {
        limit: parseLimit(request.query.limit, COHORT_PAGE_LIMIT_DEFAULT, COHORT_PAGE_LIMIT_MAX),
        afterOrgId: request.query.after === undefined ? undefined : parseOrgIdText(request.query.after, 'after'),
      }),
  );
}
