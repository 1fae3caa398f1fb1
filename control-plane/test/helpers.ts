// Test fixtures: a fresh control DB per file (cloned from the migrated template), the
// app built on it, tokens for every scope, a captured log, and an inject()-based client
// that keeps a transcript of every response body (to search for leaked secrets).
import { Writable } from 'node:stream';
import { createTestDatabase } from '@orgplane/embedded';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
import { type BuildAppOptions, buildApp, type ControlPlane } from '../src/app.js';
import { type Config, loadConfig } from '../src/config.js';
import type { Scope } from '../src/features/auth/Actor.js';
import { createApiToken } from '../src/features/auth/createApiToken.js';
import { createLogger } from '../src/logger.js';

export const ORG_ID_MAX = Number.MAX_SAFE_INTEGER;

/** Response bodies and SQL rows, read loosely: the assertions check their shape. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies without declaring every type
export type Json = any;

export function freshDatabase(): Promise<string> {
  return createTestDatabase(inject('pgAdminUrl'), 'control-plane');
}

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({ ORGPLANE_DATABASE_URL: databaseUrl, ORGPLANE_LOG_LEVEL: 'debug', ...env });
}

/** Every line the app logged, for assertions on what is (not) in the log. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface Reply<T = Json> {
  status: number;
  body: T;
  text: string;
  headers: Record<string, string | string[] | number | undefined>;
}

export class Api {
  constructor(
    readonly app: FastifyInstance,
    readonly token: string | undefined,
    /** Shared by every Api of one fixture. */
    readonly transcript: string[] = [],
  ) {}

  as(token: string | undefined): Api {
    return new Api(this.app, token, this.transcript);
  }

  async request<T = Json>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    options: { body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...options.headers };
    let payload: string | Buffer | undefined;
    if (options.rawBody !== undefined) payload = options.rawBody;
    else if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await this.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    this.transcript.push(res.body);
    let body: Json;
    try {
      body = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body, text: res.body, headers: res.headers };
  }

  get<T = Json>(url: string, headers?: Record<string, string>) {
    return this.request<T>('GET', url, headers ? { headers } : {});
  }
  post<T = Json>(url: string, body?: unknown) {
    return this.request<T>('POST', url, { body });
  }
  put<T = Json>(url: string, body?: unknown) {
    return this.request<T>('PUT', url, { body });
  }
  patch<T = Json>(url: string, body?: unknown) {
    return this.request<T>('PATCH', url, { body });
  }
  delete<T = Json>(url: string, body?: unknown) {
    return this.request<T>('DELETE', url, body === undefined ? {} : { body });
  }
}

export interface Fixture {
  databaseUrl: string;
  cp: ControlPlane;
  /** Authenticated as admin. */
  api: Api;
  tokens: Record<Scope, string>;
  log: LogCapture;
  /** Raw SQL against the control DB. */
  sql<R extends pg.QueryResultRow = Json>(text: string, values?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

export async function startFixture(
  options: { env?: Record<string, string>; build?: BuildAppOptions; databaseUrl?: string } = {},
): Promise<Fixture> {
  const databaseUrl = options.databaseUrl ?? (await freshDatabase());
  const tokens = {} as Record<Scope, string>;
  for (const scope of ['admin', 'operator', 'rollout', 'sdk:read'] as const) {
    tokens[scope] = (await createApiToken(databaseUrl, { name: `test-${scope}`, scope })).token;
  }
  const log = new LogCapture();
  const config = testConfig(databaseUrl, options.env);
  const cp = await buildApp(config, { logger: createLogger(config, log), ...options.build });
  const sqlPool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  return {
    databaseUrl,
    cp,
    api: new Api(cp.app, tokens.admin),
    tokens,
    log,
    sql: async (text, values) => (await sqlPool.query(text, values)).rows,
    async close() {
      await cp.close();
      await sqlPool.end();
    },
  };
}

/** Another instance on the same DB (a second control plane behind the load balancer). */
export async function startInstance(
  databaseUrl: string,
  build: BuildAppOptions = {},
  env: Record<string, string> = {},
): Promise<ControlPlane> {
  const config = testConfig(databaseUrl, { ORGPLANE_LOG_LEVEL: 'warn', ...env });
  return buildApp(config, { logger: createLogger(config, new LogCapture()), ...build });
}

/** Poll until `check` holds; fails the test with `what` after `limitMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The rate-limit policies migrations/control-plane/1764400000000_request-guards.sql seeds. */
export const SEEDED_RATE_LIMITS = [
  { tier: 'default', orgId: null, subject: 'org', routeClass: 'all', limit: 1200, windowSeconds: 60, burst: 200, shadow: false },
  { tier: 'default', orgId: null, subject: 'user', routeClass: 'all', limit: 300, windowSeconds: 60, burst: 60, shadow: false },
  { tier: 'enterprise', orgId: null, subject: 'org', routeClass: 'all', limit: 6000, windowSeconds: 60, burst: 1000, shadow: false },
  { tier: 'starter', orgId: null, subject: 'org', routeClass: 'all', limit: 600, windowSeconds: 60, burst: 100, shadow: false },
];

export const WHOLE_MAP = (clusterId: string) => [{ lo: 0, hi: ORG_ID_MAX, clusterId }];

/** A fresh tenant database (the tenant migrations applied, no orgs) to register as a cluster's primary. */
export function freshTenantDatabase(): Promise<string> {
  return createTestDatabase(inject('pgAdminUrl'), 'tenant');
}

/**
 * Register clusters (admin), each on a fresh tenant database, and put the whole id space
 * on the first. Returns the version. Real databases: a change that routes orgs to another
 * cluster asks both clusters (the shard-map guard), so they must answer.
 */
export async function seedClusters(api: Api, ids: string[]): Promise<number> {
  for (const id of ids) {
    const res = await api.post('/v1/clusters', { id, primary: { url: await freshTenantDatabase() } });
    if (res.status !== 201) throw new Error(`seeding ${id}: ${res.status} ${res.text}`);
  }
  const res = await api.put('/v1/shard-map/ranges', { ranges: WHOLE_MAP(ids[0]!) });
  if (res.status !== 200) throw new Error(`seeding ranges: ${res.status} ${res.text}`);
  return res.body.version;
}

/** Inserts `organizations` rows for these org ids into a tenant database (nothing else). */
export async function seedOrgs(url: string, orgIds: number[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("INSERT INTO organizations (org_id, name) SELECT id, 'org ' || id FROM unnest($1::bigint[]) AS id", [orgIds]);
  } finally {
    await client.end();
  }
}
