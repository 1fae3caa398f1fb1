// What the guards do when things break: a crashed instance's connection slots and
// idempotency claims, two instances sharing one limit, and Redis stopped or stalled in
// the middle of a test (a private redis-server: the shared one is never stopped).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedisServer } from '@orgplane/embedded';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MutableConfig, policy, REDIS_URL, redisClient, startService, type TestService } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let nextOrg = Math.floor(Math.random() * 1e9) * 1000 + 500;
const newOrg = () => ++nextOrg;

const post = (base: string, org: number, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/orgs/${org}/things`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });

/** Starts holdLeases.mjs and waits until it holds what it was asked to. */
async function crashedInstance(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(here, 'holdLeases.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`holdLeases exited ${code}: ${err}`)));
  });
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('a crashed instance', () => {
  let redis: Redis;
  let svc: TestService;
  beforeAll(async () => {
    redis = await redisClient();
    await redis.connect();
    svc = await startService('node', redis, new MutableConfig(), {
      connections: { leaseTtlMs: 1500 },
      idempotency: { inProgressSeconds: 1 },
    });
  });
  afterAll(async () => {
    await svc?.close();
    redis?.disconnect();
  });

  it("releases the crashed instance's connection slots after the lease TTL, to other instances", async () => {
    const org = newOrg();
    const child = await crashedInstance([REDIS_URL, String(org), 'u1', '10', '1500']);
    const refused = await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u1' } });
    expect(refused.status).toBe(429);
    await kill(child);
    const abort = new AbortController();
    await expect
      .poll(async () => (await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u1' }, signal: abort.signal })).status, {
        timeout: 10_000,
        interval: 200,
      })
      .toBe(200);
    abort.abort();
  });

  it('lets a retry run once after the in-progress expiry of a claim whose process was killed mid-request', async () => {
    const org = newOrg();
    const key = randomUUID();
    const body = { name: 'x' };
    const child = await crashedInstance([REDIS_URL, String(org), 'anonymous', '0', '1500', key, JSON.stringify(body)]);
    await kill(child);
    const during = await post(svc.url, org, body, { 'idempotency-key': key });
    expect(during.status).toBe(409);
    await expect
      .poll(async () => (await post(svc.url, org, body, { 'idempotency-key': key })).status, { timeout: 10_000, interval: 250 })
      .toBe(201);
    const replay = await post(svc.url, org, body, { 'idempotency-key': key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(svc.runs.get(org)).toBe(1);
  });

  it('shares one limit between two instances', async () => {
    const config = new MutableConfig();
    config.setLimits([policy({ limit: 4, burst: 4 })]);
    const other = await startService('express', redis, config);
    const one = await startService('node', redis, config);
    try {
      const org = newOrg();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await fetch(`${(i % 2 ? other : one).url}/orgs/${org}/things`)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await other.close();
      await one.close();
    }
  });
});

describe('Redis stopped in the middle', () => {
  let server: RedisServer;
  let redis: Redis;
  let svc: TestService;
  const config = new MutableConfig();
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 100 });
    await new Promise((resolve) => redis.once('ready', resolve));
    svc = await startService('fastify', redis, config, { redisTimeoutMs: 200 });
  });
  afterAll(async () => {
    await svc?.close();
    redis?.disconnect();
    await server?.stop();
  });

  it('works while Redis runs', async () => {
    config.setLimits([policy({ limit: 2, burst: 2 })]);
    expect((await post(svc.url, newOrg(), { name: 'x' }, { 'idempotency-key': randomUUID() })).status).toBe(201);
  });

  it('stalled (CLIENT PAUSE): each guard answers within its timeout as documented', async () => {
    const admin = new Redis(server.url);
    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    try {
      const org = newOrg();
      // Rate limit: fail open onto the in-process limit.
      expect((await fetch(`${svc.url}/orgs/${org}/things`, { signal: AbortSignal.timeout(2000) })).status).toBe(200);
      // Idempotency: fail closed, nothing runs.
      const write = await post(svc.url, org, { name: 'x' }, { 'idempotency-key': randomUUID() });
      expect(write.status).toBe(503);
      expect(write.headers.get('retry-after')).toBe('1');
      expect(svc.runs.get(org)).toBeUndefined();
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => {});
      admin.disconnect();
    }
    const timeouts = await svc.guards.registry.getSingleMetricAsString('orgplane_guard_redis_seconds');
    expect(timeouts).toMatch(/result="timeout"/);
  });

  it('stopped: rate limits fail open onto the in-process GCRA, idempotency fails closed, connection caps count in-process', async () => {
    await server.stop();
    const org = newOrg();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${svc.url}/orgs/${org}/things`, { signal: AbortSignal.timeout(5000) })).status);
    expect(statuses).toEqual([200, 200, 429]);

    config.setLimits([]);
    const write = await post(svc.url, org, { name: 'x' }, { 'idempotency-key': randomUUID() });
    expect(write.status).toBe(503);
    expect(await write.json()).toMatchObject({ error: { code: 'IDEMPOTENCY_UNAVAILABLE' } });
    expect(svc.runs.get(org)).toBeUndefined();

    const aborts: AbortController[] = [];
    for (let i = 0; i < 10; i++) {
      const abort = new AbortController();
      aborts.push(abort);
      expect((await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u1' }, signal: abort.signal })).status).toBe(200);
    }
    expect(
      (await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u1' }, signal: AbortSignal.timeout(5000) })).status,
    ).toBe(429);
    for (const abort of aborts) abort.abort();

    const decisions = await svc.guards.registry.getSingleMetricAsString('orgplane_guard_decisions_total');
    expect(decisions).toMatch(/guard="rate_limit",outcome="fail_open"/);
    expect(decisions).toMatch(/guard="idempotency",outcome="fail_closed"/);
    expect(decisions).toMatch(/guard="connections",outcome="fail_open"/);
  });
});
