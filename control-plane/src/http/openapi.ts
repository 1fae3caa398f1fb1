// The OpenAPI 3 document, generated from the route schemas (@fastify/swagger collects
// them as routes register) and served at GET /v1/openapi.json. The checked-in copy
// (control-plane/openapi.json) and API.md's reference part are written from it by
// `npm run api:generate -w control-plane`; tests fail when either is stale.
import { STATUS_CODES } from 'node:http';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { RouteAuth } from '../features/auth/authHook.js';
import { responses } from './schemas.js';

/** Who may call a route, as the document says it: the scopes that pass (admin always does). */
export function scopesOf(auth: RouteAuth | undefined): string[] {
  if (auth === undefined || auth === 'public') return [];
  if (auth === 'any') return ['any'];
  return ['admin', ...auth];
}

/** `/v1/shard-map/split` -> `shard-map`; `/api/client/features` -> `unleash`. */
function tagOf(url: string): string {
  if (url.startsWith('/api/')) return 'unleash';
  const [, first, second] = url.split('/');
  if (first !== 'v1') return 'health';
  if (second === 'openapi.json') return 'openapi';
  return second === 'move-batches' ? 'moves' : second === 'pilot' ? 'cohorts' : (second ?? 'health');
}

/** Bumped with the API's path version (/v1). */
export const API_VERSION = '1';

type Responses = Record<string, { description?: string; content?: unknown; $ref?: string }>;

/**
 * Every route answers errors with the same body: the document says so once
 * (components.responses.Error) instead of once per route, and each answer is described
 * by its status ("Created") rather than fastify's "Default Response".
 */
function tidy(openapiObject: Record<string, unknown>): Record<string, unknown> {
  const paths = openapiObject['paths'] as Record<string, Record<string, { responses: Responses }>>;
  let error: unknown;
  for (const methods of Object.values(paths)) {
    for (const op of Object.values(methods)) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === '4XX' || status === '5XX') {
          error ??= { ...response, description: 'An error: `{"error": {"code", "message", "hint"?, "errorId"?, "details"?}}`' };
          op.responses[status] = { $ref: '#/components/responses/Error' };
        } else if (response.description === 'Default Response') {
          response.description = STATUS_CODES[Number(status)] ?? status;
        }
      }
    }
  }
  const components = (openapiObject['components'] ?? {}) as Record<string, unknown>;
  return { ...openapiObject, components: { ...components, ...(error ? { responses: { Error: error } } : {}) } };
}

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'orgplane control plane',
        version: API_VERSION,
        description: 'Generated from the route schemas; control-plane/API.md explains the concepts.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'op_<id>_<secret>' } },
      },
    },
    transformObject: (documents) =>
      tidy(('openapiObject' in documents ? documents.openapiObject : documents.swaggerObject) as never) as never,
    transform: ({ schema, url, route }) => {
      const auth = route.config?.auth as RouteAuth | undefined;
      const scopes = scopesOf(auth);
      return {
        url,
        schema: {
          ...schema,
          tags: [tagOf(url)],
          ...(scopes.length === 0 ? { security: [] } : { security: [{ bearer: [] }], 'x-scopes': scopes }),
        } as typeof schema,
      };
    },
  });

  app.get(
    '/v1/openapi.json',
    {
      config: { auth: 'any' },
      schema: {
        summary: 'This API as an OpenAPI 3 document',
        response: responses({ 200: Type.Object({}, { additionalProperties: true, description: 'OpenAPI 3.1' }) }),
      },
    },
    async () => app.swagger(),
  );
}
