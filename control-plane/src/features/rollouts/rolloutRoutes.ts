import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ANALYSES_LIMIT_DEFAULT, ANALYSES_LIMIT_MAX } from '../../api/rules.js';
import { parseCount, parseLimit } from '../../http/queryParams.js';
import { responses } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { RolloutService } from './RolloutService.js';
import {
  AnalysesQuery,
  AnalysisList,
  CreateRolloutBody,
  FlagParams,
  Rollout,
  RolloutList,
  RolloutWithAnalyses,
  SetPercentBody,
  TransitionBody,
} from './rolloutSchemas.js';

export function registerRolloutRoutes(fastify: FastifyInstance, rollouts: RolloutService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const changed = responses({ 200: Rollout });
  app.get(
    '/v1/rollouts',
    { config: { auth: ALLOW.configRead }, schema: { summary: 'List rollouts', response: responses({ 200: RolloutList }) } },
    async () => ({ rollouts: await rollouts.list() }),
  );

  app.get(
    '/v1/rollouts/:flag',
    {
      config: { auth: ALLOW.configRead },
      schema: { summary: 'A rollout with its latest analyses', params: FlagParams, response: responses({ 200: RolloutWithAnalyses }) },
    },
    async (request) => rollouts.detail(request.params.flag),
  );

  app.get(
    '/v1/rollouts/:flag/analyses',
    {
      config: { auth: ALLOW.configRead },
      schema: {
        summary: "A rollout's analyses, newest first",
        params: FlagParams,
        querystring: AnalysesQuery,
        response: responses({ 200: AnalysisList }),
      },
    },
    async (request) => ({
      analyses: await rollouts.analyses(request.params.flag, {
        limit: parseLimit(request.query.limit, ANALYSES_LIMIT_DEFAULT, ANALYSES_LIMIT_MAX),
        beforeId: parseCount(request.query.before, 'before'),
      }),
    }),
  );

  app.post(
    '/v1/rollouts',
    {
      config: { auth: ALLOW.rolloutWrite },
      schema: { summary: 'Create a rollout', body: CreateRolloutBody, response: responses({ 201: Rollout }) },
    },
    async (request, reply) => reply.code(201).send(await rollouts.create(actorOf(request), request.body)),
  );

  app.post(
    '/v1/rollouts/:flag/set',
    {
      config: { auth: ALLOW.rolloutWrite },
      schema: { summary: 'Set the percent', params: FlagParams, body: SetPercentBody, response: changed },
    },
    async (request) => rollouts.set(actorOf(request), request.params.flag, request.body.percent, request.body),
  );

  for (const verb of ['advance', 'pause', 'resume', 'rollback', 'kill'] as const) {
    app.post(
      `/v1/rollouts/:flag/${verb}`,
      {
        config: { auth: ALLOW.rolloutWrite },
        schema: {
          summary: `${verb[0]?.toUpperCase()}${verb.slice(1)} a rollout`,
          params: FlagParams,
          body: TransitionBody,
          response: changed,
        },
      },
      async (request) => rollouts[verb](actorOf(request), request.params.flag, request.body ?? {}),
    );
  }
}
