// The tenant API end to end: a real control plane, a real tenant database, a real Redis and
// two instances of the service, each with its own runtime. Creates with an Idempotency-Key
// make exactly one row; limits changed through the control plane apply within a second on
// both instances; event streams are capped across the instances.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, DEFAULT_REDIS_URL, ensureRedis } from '@orgplane/embedded';
import { createRuntime, type Runtime } from '@orgplane/runtime';
import { ORG_ID_MAX } from '@orgplane/runtime/wire';
import { execa } from 'execa';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedOrgs } from '../../../cli/src/lab/seed.js';
import { type Fixture, startFixture } from '../../../control-plane/test/helpers.js';
import { buildTenantApi, EXPENSE_TOTALS_FLAG, READ_AFTER_HEADER } from '../src/index.js';

const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const REDIS_URL = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
const password = decodeURIComponent(new URL(inject('pgAdminUrl')).password);

interface Instance {
  url: string;
  app: FastifyInstance;
  runtime: Runtime;
  redis: Redis;
  subscriber: Redis;
}

let f: Fixture;
let cpUrl: string;
let tenant: pg.Pool;
const instances: Instance[] = [];
// Org ids unique to this run (the shared Redis keeps keys between runs).
const base = 1 + (Date.now() % 1000) * 100;
const ORGS = { a: base, b: base + 1, c: base + 2, d: base + 3 };

async function startInstance(name: string, cpUrl: string): Promise<Instance> {
  const runtime = createRuntime({ url: cpUrl, token: f.tokens['sdk:read'], credentials: { password }, poolOptions: { max: 4 } });
  runtime.on('error', () => {});
  await runtime.ready(10_000);
  const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
  const redis = new Redis(REDIS_URL, options);
  const subscriber = new Redis(REDIS_URL, options);
  await Promise.all([redis, subscriber].map((r) => new Promise((resolve) => r.once('ready', resolve))));
  const { app } = await buildTenantApi({
    runtime,
    redis,
    subscriber,
    guards: 'on',
    instanceId: name,
    redisTimeoutMs: 200,
    inProgressSeconds: 2,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, app, runtime, redis, subscriber };
}

beforeAll(async () => {
  await ensureRedis(REDIS_URL);
  f = await startFixture({ env: { ORGPLANE_LOG_LEVEL: 'warn' } });
  cpUrl = await f.cp.app.listen({ host: '127.0.0.1', port: 0 });
  const tenantUrl = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
  await seedOrgs(tenantUrl, base, base + 3);
  tenant = new pg.Pool({ connectionString: tenantUrl, max: 2 });
  await tenant.query("UPDATE organizations SET plan = 'starter' WHERE org_id = $1", [ORGS.c]);
  expect((await f.api.post('/v1/clusters', { id: 'primary-1', primary: { url: tenantUrl } })).status).toBe(201);
  expect((await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }] })).status).toBe(200);
  instances.push(await startInstance('api-1', cpUrl), await startInstance('api-2', cpUrl));
}, 120_000);

afterAll(async () => {
  for (const i of instances) {
    await i.app.close();
    i.redis.disconnect();
    i.subscriber.disconnect();
    await i.runtime.close();
  }
  await tenant?.end();
  await f?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely
const json = (res: Response): Promise<any> => res.json();

const [one, two] = [() => instances[0]!, () => instances[1]!];

function create(instance: Instance, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${instance.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function count(table: string, orgId: number, where = 'TRUE', values: unknown[] = []): Promise<number> {
  const { rows } = await tenant.query(`SELECT count(*)::int AS n FROM ${table} WHERE org_id = $1 AND ${where}`, [orgId, ...values]);
  return rows[0].n;
}

describe('creates with an Idempotency-Key', () => {
  it('makes exactly one row for a retried create, replayed from the other instance', async () => {
    const key = randomUUID();
    const first = await create(one(), `/orgs/${ORGS.a}/properties`, { name: 'Seaside' }, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const row = await json(first);
    const retry = await create(two(), `/orgs/${ORGS.a}/properties`, { name: 'Seaside' }, { 'idempotency-key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await json(retry)).toEqual(row);
    expect(await count('properties', ORGS.a, 'name = $2', ['Seaside'])).toBe(1);
  });

  it('runs one of two concurrent creates on two instances; the other gets 409; one row', async () => {
    const key = randomUUID();
    const results = await Promise.all([
      create(one(), `/orgs/${ORGS.a}/users`, { email: 'race@example.com' }, { 'idempotency-key': key }),
      create(two(), `/orgs/${ORGS.a}/users`, { email: 'race@example.com' }, { 'idempotency-key': key }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    // Either the second arrived while the first ran (409) or after it (a replay of 201).
    expect([
      [201, 409],
      [201, 201],
    ]).toContainEqual(statuses);
    expect(await count('users', ORGS.a, 'email = $2', ['race@example.com'])).toBe(1);
  });

  it('answers 422 for the key with another body and 400 without a key; no row', async () => {
    const key = randomUUID();
    expect((await create(one(), `/orgs/${ORGS.b}/properties`, { name: 'One' }, { 'idempotency-key': key })).status).toBe(201);
    expect((await create(two(), `/orgs/${ORGS.b}/properties`, { name: 'Two' }, { 'idempotency-key': key })).status).toBe(422);
    expect((await create(one(), `/orgs/${ORGS.b}/properties`, { name: 'Three' })).status).toBe(400);
    expect(await count('properties', ORGS.b, "name IN ('Two', 'Three')")).toBe(0);
  });

  it('refuses bad input by name: an unknown org (404), a bad expense (400)', async () => {
    const missing = await create(one(), '/orgs/999999999/properties', { name: 'X' }, { 'idempotency-key': randomUUID() });
    expect(missing.status).toBe(404);
    const bad = await create(one(), `/orgs/${ORGS.b}/expenses`, { propertyId: 'x', amountCents: 5 }, { 'idempotency-key': randomUUID() });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe('INVALID_INPUT');
  });
});

describe('reads', () => {
  it('refuses a read token that is not one, or is another org’s, with 400 INVALID_READ_TOKEN', async () => {
    for (const token of ['nonsense', `rw1.${ORGS.b}.1a2b.${Date.now() + 30_000}`]) {
      const res = await fetch(`${one().url}/orgs/${ORGS.a}/properties`, { headers: { [READ_AFTER_HEADER]: token } });
      expect(res.status, token).toBe(400);
      expect((await json(res)).error.code).toBe('INVALID_READ_TOKEN');
    }
  });

  it('lists with org-scoped cache headers and answers 304 to the ETag', async () => {
    const res = await fetch(`${one().url}/orgs/${ORGS.a}/properties`);
    expect(res.status).toBe(200);
    const doc = await json(res);
    expect(doc.properties.length).toBeGreaterThan(0);
    expect(res.headers.get('surrogate-key')).toMatch(new RegExp(`^org:${ORGS.a} property:${ORGS.a}-`));
    const again = await fetch(`${two().url}/orgs/${ORGS.a}/properties`, { headers: { 'if-none-match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('takes the code path the flag chooses', async () => {
    const before = await json(await fetch(`${one().url}/orgs/${ORGS.a}/expenses`));
    expect(before.totalsByCategory).toBeUndefined();
    const created = await f.api.as(f.tokens.rollout).post('/v1/rollouts', { flag: EXPENSE_TOTALS_FLAG, stages: [{ percent: 100 }] });
    expect(created.status).toBe(201);
    expect((await f.api.as(f.tokens.rollout).post(`/v1/rollouts/${EXPENSE_TOTALS_FLAG}/advance`, {})).status).toBe(200);
    await expect.poll(async () => (await json(await fetch(`${one().url}/orgs/${ORGS.a}/expenses`))).totalsByCategory).toBeDefined();
  });
});

describe('rate limits from the control plane', () => {
  it('applies a limit set with the CLI within a second, on both instances sharing it', async () => {
    const cli = await execa(
      process.execPath,
      [
        path.join(repoRoot, 'cli/bin/run.js'),
        'limits',
        'set',
        '--org',
        String(ORGS.d),
        '--route-class',
        'reads',
        '--limit',
        '3',
        '--window',
        '1m',
        '--json',
      ],
      {
        env: { ORGPLANE_URL: cpUrl, ORGPLANE_TOKEN: f.tokens.operator, ORGPLANE_LAB_DIR: undefined },
        reject: false,
      },
    );
    expect(cli.exitCode, cli.stdout).toBe(0);
    const set = { body: JSON.parse(cli.stdout) };
    const changedAt = Date.now();
    await expect
      .poll(() => Math.min(...instances.map((i) => i.runtime.version ?? 0)), { timeout: 1000, interval: 10 })
      .toBeGreaterThanOrEqual(set.body.version);
    expect(Date.now() - changedAt).toBeLessThan(1000);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${instances[i % 2]!.url}/orgs/${ORGS.d}/properties`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = await fetch(`${one().url}/orgs/${ORGS.d}/users`);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('ratelimit-policy')).toContain('"org-reads";q=3;w=60');
  });

  it("uses the org's plan as its tier", async () => {
    const res = await fetch(`${one().url}/orgs/${ORGS.c}/properties`);
    expect(res.headers.get('ratelimit-policy')).toContain('"org";q=600;w=60');
  });
});

describe('event streams', () => {
  it('caps a user at 10 streams across both instances and delivers events from either', async () => {
    const aborts: AbortController[] = [];
    const streams: Response[] = [];
    for (let i = 0; i < 10; i++) {
      const abort = new AbortController();
      aborts.push(abort);
      const res = await fetch(`${instances[i % 2]!.url}/orgs/${ORGS.b}/events`, { headers: { 'x-user-id': 'u7' }, signal: abort.signal });
      expect(res.status).toBe(200);
      streams.push(res);
    }
    const eleventh = await fetch(`${two().url}/orgs/${ORGS.b}/events`, { headers: { 'x-user-id': 'u7' } });
    expect(eleventh.status).toBe(429);
    expect((await json(eleventh)).error.code).toBe('TOO_MANY_CONNECTIONS');
    const reader = streams[1]!.body!.getReader();
    await create(one(), `/orgs/${ORGS.b}/users`, { email: 'evt@example.com' }, { 'idempotency-key': randomUUID() });
    let text = '';
    while (!text.includes('users.created')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`"orgId":${ORGS.b}`);
    for (const abort of aborts) abort.abort();
  });
});

describe('/metrics', () => {
  it('serves latency histograms by route and status, and the guards decisions', async () => {
    const text = await (await fetch(`${one().url}/metrics`)).text();
    expect(text).toMatch(
      /tenant_api_request_duration_seconds_bucket\{le="[^"]+",route="\/orgs\/:orgId\/properties",method="POST",status="201"\}/,
    );
    expect(text).toMatch(/orgplane_guard_decisions_total\{guard="idempotency",outcome="claimed"\}/);
  });
});
