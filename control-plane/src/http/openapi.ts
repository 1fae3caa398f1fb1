// The OpenAPI 3 document, generated from the route schemas (@fastify/swagger collects
// them as routes register) and served at GET /v1/openapi.json. The checked-in copy
// (control-plane/openapi.json) and API.md's reference part are written from it by
// `npm run api:generate -w control-plane`; tests fail when either is stale.
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
