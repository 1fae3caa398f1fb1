// The Unleash client API (API.md "Unleash client API"). Official SDKs send their token
// as `Authorization: <token>`, without `Bearer`: these routes accept both forms.
import type { FastifyInstance } from 'fastify';
import { responses } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { UnleashService } from './UnleashService.js';
import {
  acceptedSchema,
  featuresDocumentSchema,
  featuresQuerySchema,
  importBodySchema,
  importResultSchema,
  metricsBodySchema,
  registerBodySchema,
} from './unleashSchemas.js';
import type { UnleashImportBody, UnleashMetricsReport, UnleashRegistration } from './unleashTypes.js';

const client = { auth: ALLOW.unleashClient, rawToken: true } as const;

function asList(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

export function registerUnleashRoutes(app: FastifyInstance, unleash: UnleashService): void {
  for (const [path, format] of [
    ['/api/client/features', 'full'],
    ['/api/client/delta', 'delta'],
  ] as const) {
    app.get<{ Querystring: { namePrefix?: string; project?: string | string[] } }>(
      path,
      {
        config: client,
        schema: {
          summary: format === 'full' ? 'Unleash client API: the features document' : 'Unleash client API: delta events',
          querystring: featuresQuerySchema,
          response: responses({ 200: featuresDocumentSchema, 304: { description: 'Not modified', type: 'null' } }),
        },
      },
      async (request, reply) => {
        const ifNoneMatch = request.headers['if-none-match'];
        const answer = await unleash.features(
          { namePrefix: request.query.namePrefix, projects: asList(request.query.project) },
          typeof ifNoneMatch === 'string' ? ifNoneMatch : undefined,
          format,
        );
        reply.header('etag', answer.etag).header('cache-control', 'no-cache').header('vary', 'Accept-Encoding');
        if (answer.notModified) return reply.code(304).send();
        const { coding, body } = await answer.body.negotiate(request.headers['accept-encoding']);
        if (coding !== 'identity') reply.header('content-encoding', coding);
        return reply.type('application/json; charset=utf-8').send(body);
      },
    );
  }

  app.post<{ Body: UnleashRegistration }>(
    '/api/client/register',
    {
      config: client,
      schema: { summary: 'Unleash client API: an SDK registers', body: registerBodySchema, response: responses({ 202: acceptedSchema }) },
    },
    async (request, reply) => {
      await unleash.register(actorOf(request), request.body);
      return reply.code(202).send();
    },
  );

  app.post<{ Body: UnleashMetricsReport }>(
    '/api/client/metrics',
    {
      config: client,
      schema: { summary: 'Unleash client API: usage metrics', body: metricsBodySchema, response: responses({ 202: acceptedSchema }) },
    },
    async (request, reply) => {
      await unleash.recordMetrics(actorOf(request), request.body);
      return reply.code(202).send();
    },
  );

  app.post<{ Body: UnleashImportBody }>(
    '/api/admin/features-import',
    {
      config: { auth: ALLOW.admin },
      schema: {
        summary: 'Import Unleash features (a client payload or delta events)',
        body: importBodySchema,
        response: responses({ 200: importResultSchema }),
      },
    },
    async (request) => unleash.importFeatures(actorOf(request), request.body),
  );
}
