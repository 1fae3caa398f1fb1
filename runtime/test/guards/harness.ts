// One small service, served three ways (node:http, express, fastify) behind the same guards,
// so one suite checks that the adapters behave alike. Its handler counts the writes it
// really ran, so a test can tell a replay from a second run.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_REDIS_URL, ensureRedis } from '@orgplane/embedded';
import {
  etagOf,
  expressMiddleware,
  fastifyGuards,
  type GuardConfigSource,
  type GuardIdentity,
  Guards,
  type GuardsOptions,
  type Identify,
  nodeHandler,
  notModified,
  orgCacheHeaders,
} from '@orgplane/runtime/guards';
import type { WireRateLimitPolicy } from '@orgplane/runtime/wire';
import express from 'express';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;

export type AdapterName = 'node' | 'express' | 'fastify';
export const ADAPTERS: AdapterName[] = ['node', 'express', 'fastify'];

/** A config the test changes in place, as a runtime's watch stream would. */
export class MutableConfig implements GuardConfigSource {
  rateLimits: WireRateLimitPolicy[] = [];
  corsOrigins: string[] = [];
  guardConfig() {
    return { rateLimits: this.rateLimits, corsOrigins: this.corsOrigins };
  }
  setLimits(policies: WireRateLimitPolicy[]): void {
    this.rateLimits = policies;
  }
}

export function policy(values: Partial<WireRateLimitPolicy>): WireRateLimitPolicy {
  return {
    tier: 'default',
    orgId: null,
    subject: 'org',
    routeClass: 'all',
    limit: 1000,
    windowSeconds: 60,
    burst: 1000,
    shadow: false,
    ...values,
  };
}

export async function redisClient(url = REDIS_URL): Promise<Redis> {
  await ensureRedis(url);
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => 200 });
}

export interface TestService {
  url: string;
  guards: Guards;
  /** Writes the handler really ran, by org. */
  runs: Map<number, number>;
  close(): Promise<void>;
}

const identityOf = (orgText: string | undefined, req: IncomingMessage): GuardIdentity | null => {
  const orgId = Number(orgText);
  if (!Number.isSafeInteger(orgId)) return null;
  const routeClass = req.method === 'GET' ? 'reads' : 'writes';
  return { orgId, userId: String(req.headers['x-user-id'] ?? 'anonymous'), tier: String(req.headers['x-tier'] ?? 'standard'), routeClass };
};

const ORG_PATH = /^\/orgs\/(\d+)\/(things|events)/;

interface Outcome {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The service's logic, independent of the framework. */
async function handle(
  service: { guards: Guards; runs: Map<number, number> },
  method: string,
  path: string,
  headers: IncomingMessage['headers'],
  identity: GuardIdentity | null,
  body: unknown,
): Promise<Outcome | 'sse'> {
  const orgId = identity?.orgId ?? -1;
  if (path.endsWith('/events')) return 'sse';
  if (method === 'POST') {
    const delay = Number(headers['x-delay-ms'] ?? 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if ((body as { fail?: boolean })?.fail)
      return { status: 500, headers: { 'content-type': 'application/json' }, body: '{"error":"boom"}' };
    const n = (service.runs.get(orgId) ?? 0) + 1;
    service.runs.set(orgId, n);
    return {
      status: 201,
      headers: { 'content-type': 'application/json', location: `/orgs/${orgId}/things/${n}` },
      body: JSON.stringify({ id: n, name: (body as { name?: string })?.name ?? null }),
    };
  }
  const payload = JSON.stringify({ orgId, things: service.runs.get(orgId) ?? 0 });
  const etag = etagOf(payload);
  const cache = orgCacheHeaders({ orgId, tags: [`property:${orgId * 10}`] }).headers;
  if (notModified(headers['if-none-match'], etag)) return { status: 304, headers: { ...cache, etag }, body: '' };
  return { status: 200, headers: { ...cache, etag, 'content-type': 'application/json' }, body: payload };
}

async function serveEvents(guards: Guards, identity: GuardIdentity | null, res: ServerResponse): Promise<void> {
  if (!identity) {
    res.writeHead(400).end();
    return;
  }
  const acquired = await guards.connections.acquire(identity.orgId, identity.userId);
  if (!acquired.ok) {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '5' });
    res.end(JSON.stringify({ error: { code: 'TOO_MANY_CONNECTIONS', message: `at most ${acquired.cap} per ${acquired.scope}` } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  res.write(': connected\n\n');
  res.once('close', () => void acquired.lease.release());
}

export async function startService(
  adapter: AdapterName,
  redis: Redis,
  config: GuardConfigSource,
  options: Partial<GuardsOptions> = {},
): Promise<TestService> {
  const guards = new Guards({ redis, config, redisTimeoutMs: 200, ...options });
  const service = { guards, runs: new Map<number, number>() };
  const identify: Identify = (req, params) => identityOf(params?.orgId ?? ORG_PATH.exec(req.url ?? '')?.[1], req);
  const adapterOptions = { identify, requireIdempotencyKey: (method: string) => method === 'POST' };
  let server: Server;
  let closeApp: () => Promise<void> = async () => {};
  if (adapter === 'node') {
    server = createServer(
      nodeHandler(guards, adapterOptions, async (req, res, ctx) => {
        const path = (req.url ?? '/').split('?')[0]!;
        const body = ctx.body.length ? JSON.parse(ctx.body.toString()) : undefined;
        const out = await handle(service, req.method ?? 'GET', path, req.headers, ctx.identity, body);
        if (out === 'sse') return serveEvents(guards, ctx.identity, res);
        res.writeHead(out.status, out.headers).end(out.body);
      }),
    );
  } else if (adapter === 'express') {
    const app = express();
    const guard = expressMiddleware(guards, adapterOptions);
    const route = async (req: express.Request, res: express.Response) => {
      const ctx = (req as unknown as { guard: { identity: GuardIdentity | null } }).guard;
      const out = await handle(service, req.method, req.path, req.headers, ctx.identity, req.body);
      if (out === 'sse') return serveEvents(guards, ctx.identity, res);
      res.status(out.status).set(out.headers).end(out.body);
    };
    app.all('/orgs/:orgId/things', guard, route);
    app.get('/orgs/:orgId/events', guard, route);
    app.options('/orgs/:orgId/things', guard, (_req, res) => res.status(204).end());
    server = createServer(app);
  } else {
    const app = Fastify();
    await app.register(fastifyGuards(guards, adapterOptions));
    const route = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      const ctx = (request as unknown as { guard: { identity: GuardIdentity | null } }).guard;
      const out = await handle(service, request.method, request.url.split('?')[0]!, request.headers, ctx.identity, request.body);
      if (out === 'sse') {
        reply.hijack();
        return serveEvents(guards, ctx.identity, reply.raw);
      }
      return reply.code(out.status).headers(out.headers).send(out.body);
    };
    app.route({ method: ['GET', 'POST', 'OPTIONS'], url: '/orgs/:orgId/things', handler: route });
    app.get('/orgs/:orgId/events', route);
    await app.ready();
    server = app.server;
    closeApp = () => app.close();
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    guards,
    runs: service.runs,
    async close() {
      guards.close();
      server.closeAllConnections?.();
      if (adapter === 'fastify') await closeApp();
      else await new Promise((resolve) => server.close(resolve));
    },
  };
}
