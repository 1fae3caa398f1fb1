// The tenant API: properties, users and expenses of an org, and an SSE stream of its
// events, over the tenant tables. It embeds the runtime the way a product service would:
// writes in runtime.transaction on the org's primary, reads through runtime.read (a healthy
// replica that has replayed the caller's writes, else the primary), a flag
// choosing a code path, and every request guard on (@orgplane/runtime/guards).
import type { IncomingMessage } from 'node:http';
import type { Runtime } from '@orgplane/runtime';
import { etagOf, fastifyGuards, type GuardIdentity, Guards, notModified, orgCacheHeaders } from '@orgplane/runtime/guards';
import { isValidOrgId } from '@orgplane/runtime/wire';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { Histogram, type Registry } from 'prom-client';
import { OrgEvents } from './OrgEvents.js';

/** The header that carries a read token from a create to later reads, on any instance. */
export const READ_AFTER_HEADER = 'x-orgplane-read-after';

/** When on for an org, the expense list carries totals by category (the flag's code path). */
export const EXPENSE_TOTALS_FLAG = 'tenant-api.expense-totals';

export interface TenantApiOptions {
  runtime: Runtime;
  /** The guards' Redis; null only with guards off. */
  redis: Redis | null;
  /** A second connection for the event stream's pub/sub (optional). */
  subscriber?: Redis | null;
  guards: 'on' | 'off';
  instanceId: string;
  registry?: Registry;
  redisTimeoutMs?: number;
  leaseTtlMs?: number;
  inProgressSeconds?: number;
  /** Unexpected errors (answered 500 without details). */
  onError?: (error: Error) => void;
}

const RESOURCES = {
  properties: {
    table: 'properties',
    id: 'property_id',
    columns: 'property_id AS id, name, timezone, created_at AS "createdAt"',
    fields: ['name', 'timezone'],
  },
  users: { table: 'users', id: 'user_id', columns: 'user_id AS id, email, role, created_at AS "createdAt"', fields: ['email', 'role'] },
  expenses: {
    table: 'expenses',
    id: 'expense_id',
    columns: 'expense_id AS id, property_id AS "propertyId", amount_cents AS "amountCents", category, spent_on::text AS "spentOn"',
    fields: ['property_id', 'amount_cents', 'category', 'spent_on'],
  },
} as const;
type Resource = keyof typeof RESOURCES;

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The org's tier (its plan), cached a minute per org: the guards ask on every request. */
class TierCache {
  private readonly tiers = new Map<number, { tier: string | null; until: number }>();
  constructor(private readonly runtime: Runtime) {}
  async get(orgId: number): Promise<string | null> {
    const hit = this.tiers.get(orgId);
    if (hit && hit.until > Date.now()) return hit.tier;
    const { rows } = await this.runtime.read<{ plan: string }>(orgId, 'SELECT plan FROM organizations WHERE org_id = $1', [orgId]);
    const tier = rows[0]?.plan ?? null;
    if (this.tiers.size > 100_000) this.tiers.clear();
    this.tiers.set(orgId, { tier, until: Date.now() + 60_000 });
    return tier;
  }
}

export async function buildTenantApi(
  options: TenantApiOptions,
): Promise<{ app: FastifyInstance; guards: Guards | null; registry: Registry }> {
  const { runtime } = options;
  const registry = options.registry ?? runtime.metrics;
  const app = Fastify({ logger: false });
  const tiers = new TierCache(runtime);
  const events = new OrgEvents(options.redis, options.subscriber ?? null);
  const latency = new Histogram({
    name: 'tenant_api_request_duration_seconds',
    help: 'Tenant API request latency by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    latency.observe({ route, method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  let guards: Guards | null = null;
  if (options.guards === 'on') {
    if (!options.redis) throw new Error('the guards need a Redis client');
    guards = new Guards({
      redis: options.redis,
      config: runtime,
      registry,
      redisTimeoutMs: options.redisTimeoutMs ?? 50,
      keyPrefix: 'orgplane:tenant-api:',
      connections: { leaseTtlMs: options.leaseTtlMs ?? 15_000 },
      idempotency: { inProgressSeconds: options.inProgressSeconds ?? 10 },
    });
    const identify = async (req: IncomingMessage, params: Record<string, string> | undefined): Promise<GuardIdentity | null> => {
      const orgId = Number(params?.orgId);
      if (!isValidOrgId(orgId) || params?.orgId === undefined || !/^\d+$/.test(params.orgId)) return null;
      const tier = await tiers.get(orgId).catch(() => null);
      const user = req.headers['x-user-id'];
      return {
        orgId,
        userId: typeof user === 'string' && user !== '' ? user.slice(0, 128) : 'anonymous',
        tier: tier ?? 'default',
        routeClass: req.method === 'GET' || req.method === 'HEAD' ? 'reads' : 'writes',
      };
    };
    await app.register(fastifyGuards(guards, { identify, requireIdempotencyKey: (method) => method === 'POST' }));
  }

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } });
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) options.onError?.(error);
    return reply.code(status).send({
      error: {
        code: status === 500 ? 'INTERNAL' : (error.code ?? 'BAD_REQUEST'),
        message: status === 500 ? 'the request failed' : error.message,
      },
    });
  });

  const orgOf = async (text: string): Promise<number> => {
    const orgId = Number(text);
    if (!/^\d+$/.test(text) || !isValidOrgId(orgId)) throw new HttpError(400, 'INVALID_ORG_ID', `'${text}' is not an org id`);
    if ((await tiers.get(orgId)) === null) throw new HttpError(404, 'ORG_NOT_FOUND', `org ${orgId} does not exist`);
    return orgId;
  };

  app.get('/healthz', async () => ({ status: 'ok', instance: options.instanceId, configVersion: runtime.version }));
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  for (const resource of Object.keys(RESOURCES) as Resource[]) {
    const spec = RESOURCES[resource];
    app.get<{ Params: { orgId: string } }>(`/orgs/:orgId/${resource}`, async (request, reply) => {
      const orgId = await orgOf(request.params.orgId);
      // A healthy replica that has replayed this instance's writes of the org, and those of
      // the instance whose read token the caller carries (READ_AFTER_HEADER); else the primary.
      const after = request.headers[READ_AFTER_HEADER];
      const { rows } = await runtime
        .read(orgId, `SELECT ${spec.columns} FROM ${spec.table} WHERE org_id = $1 ORDER BY ${spec.id} LIMIT 500`, [orgId], {
          after: typeof after === 'string' ? after : undefined,
        })
        .catch((err: unknown) => {
          if ((err as { code?: string }).code === 'INVALID_ARGUMENT') {
            throw new HttpError(400, 'INVALID_READ_TOKEN', `${READ_AFTER_HEADER} is not a read token of org ${orgId}`);
          }
          throw err;
        });
      const doc: Record<string, unknown> = { orgId, [resource]: rows };
      if (resource === 'expenses' && runtime.isEnabled(EXPENSE_TOTALS_FLAG, { orgId })) {
        const totals: Record<string, number> = {};
        for (const row of rows as { category: string; amountCents: string }[])
          totals[row.category] = (totals[row.category] ?? 0) + Number(row.amountCents);
        doc.totalsByCategory = totals;
      }
      return sendCached(reply, request.headers['if-none-match'], orgId, doc);
    });

    app.post<{ Params: { orgId: string }; Body: Record<string, unknown> }>(`/orgs/:orgId/${resource}`, async (request, reply) => {
      const orgId = await orgOf(request.params.orgId);
      const values = validate(resource, request.body);
      const row = await insert(runtime, orgId, resource, values);
      events.publish({ type: `${resource}.created`, orgId, id: Number(row.id), at: new Date().toISOString() });
      // Any instance honours it: carried back in READ_AFTER_HEADER, the next list sees this row.
      const token = runtime.readToken(orgId);
      if (token !== null) reply.header(READ_AFTER_HEADER, token);
      return reply.code(201).header('location', `/orgs/${orgId}/${resource}/${row.id}`).send(row);
    });
  }

  app.get<{ Params: { orgId: string } }>('/orgs/:orgId/events', async (request, reply) => {
    const orgId = await orgOf(request.params.orgId);
    const user = String(request.headers['x-user-id'] ?? 'anonymous');
    let release: () => Promise<void> = async () => {};
    if (guards) {
      const got = await guards.connections.acquire(orgId, user);
      if (!got.ok) throw new HttpError(429, 'TOO_MANY_CONNECTIONS', `at most ${got.cap} event streams per ${got.scope}`);
      release = () => got.lease.release();
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no', ...corsOf(reply) });
    res.write(`: connected to ${options.instanceId}\n\n`);
    const unsubscribe = events.subscribe(orgId, (event) =>
      res.write(`event: ${event.type}\nid: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`),
    );
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), 15_000);
    heartbeat.unref();
    res.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      void release();
    });
  });

  app.addHook('onClose', async () => guards?.close());
  return { app, guards, registry };
}

function corsOf(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders()))
    if (name.startsWith('access-control-') || name === 'vary') out[name] = String(value);
  return out;
}

function sendCached(reply: FastifyReply, ifNoneMatch: string | string[] | undefined, orgId: number, doc: Record<string, unknown>) {
  const body = JSON.stringify(doc);
  const etag = etagOf(body);
  const tags = Array.isArray(doc.properties) ? (doc.properties as { id: string }[]).map((p) => `property:${orgId}-${p.id}`) : [];
  reply.headers({ ...orgCacheHeaders({ orgId, tags }).headers, etag });
  if (notModified(ifNoneMatch, etag)) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(body);
}

function validate(resource: Resource, body: unknown): unknown[] {
  const b = (body ?? {}) as Record<string, unknown>;
  const bad = (field: string, what: string) => new HttpError(400, 'INVALID_INPUT', `${field} ${what}`);
  const text = (field: string, required = true, fallback?: string) => {
    const value = b[field] ?? fallback;
    if (value === undefined && !required) return null;
    if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw bad(field, 'must be a string of 1 to 200 characters');
    return value;
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body', 'must be a JSON object');
  if (resource === 'properties') return [text('name'), text('timezone', true, 'UTC')];
  if (resource === 'users') return [text('email'), text('role', true, 'member')];
  const propertyId = b.propertyId;
  const amount = b.amountCents;
  if (!Number.isSafeInteger(propertyId) || (propertyId as number) < 1) throw bad('propertyId', 'must be a positive integer');
  if (!Number.isSafeInteger(amount)) throw bad('amountCents', 'must be an integer');
  const spentOn = text('spentOn', true, new Date().toISOString().slice(0, 10));
  if (!/^\d{4}-\d{2}-\d{2}$/.test(spentOn!)) throw bad('spentOn', 'must be a date YYYY-MM-DD');
  return [propertyId, amount, text('category'), spentOn];
}

async function insert(runtime: Runtime, orgId: number, resource: Resource, values: unknown[]): Promise<Record<string, unknown>> {
  const spec = RESOURCES[resource];
  const placeholders = values.map((_, i) => `$${i + 2}`).join(', ');
  for (let attempt = 0; ; attempt++) {
    try {
      return await runtime.transaction(orgId, async (client: pg.PoolClient) => {
        const { rows } = await client.query(
          `INSERT INTO ${spec.table} (org_id, ${spec.id}, ${spec.fields.join(', ')})
           SELECT $1, coalesce(max(${spec.id}), 0) + 1, ${placeholders} FROM ${spec.table} WHERE org_id = $1
           RETURNING ${spec.columns}`,
          [orgId, ...values],
        );
        return rows[0] as Record<string, unknown>;
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Two creates raced for the next id: take the one after.
      if (code === '23505' && attempt < 5) continue;
      if (code === '23503') throw new HttpError(400, 'INVALID_INPUT', 'propertyId names no property of this org');
      throw err;
    }
  }
}
