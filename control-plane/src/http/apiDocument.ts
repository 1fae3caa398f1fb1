// The OpenAPI document without a database: the same routes as buildApp, registered on
// a bare fastify with stand-in services that nothing calls (no request is served).
// `npm run api:generate` writes it to control-plane/openapi.json.
import Fastify from 'fastify';
import type { Services } from '../factory.js';
import { installAuth } from '../features/auth/authHook.js';
import type { TokenService } from '../features/auth/TokenService.js';
import type { Metrics } from '../features/health/Metrics.js';
import { AJV_OPTIONS, registerRoutes } from './routes.js';

/** Any property of it is itself, and so is calling it: a route registration reads services, never uses them. */
function standIn(): unknown {
  const target = () => undefined;
  const proxy: unknown = new Proxy(target, {
    // Not a thenable, or `await` would wait on it.
    get: (_t, key) => (key === 'then' ? undefined : proxy),
    apply: () => proxy,
  });
  return proxy;
}

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, OpenApiOperation>> };
export interface OpenApiOperation {
  summary?: string;
  tags?: string[];
  'x-scopes'?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Record<string, unknown>; description?: string }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }>; required?: boolean };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
}

/** `onRoute` sees every route as it registers (tests check each one is documented). */
export async function buildApiDocument(onRoute?: (route: { method: string | string[]; url: string }) => void): Promise<OpenApiDocument> {
  const app = Fastify({ ajv: AJV_OPTIONS, logger: false });
  if (onRoute) app.addHook('onRoute', (route) => onRoute({ method: route.method, url: route.url }));
  const services = standIn() as Services;
  installAuth(app, services.tokens as TokenService);
  await registerRoutes(app, { pool: standIn() as RouteDepsPool, services, metrics: standIn() as Metrics });
  await app.ready();
  // A plain copy: the document is compared and written as JSON.
  const doc = JSON.parse(JSON.stringify(app.swagger())) as OpenApiDocument;
  await app.close();
  return doc;
}

type RouteDepsPool = Parameters<typeof registerRoutes>[1]['pool'];
