// One suite, three adapters (node:http, express, fastify): every guard behaves the same
// behind each, against a real Redis (REDIS_URL; started when none answers).
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADAPTERS, MutableConfig, policy, redisClient, startService, type TestService } from './harness.js';

let redis: Redis;
beforeAll(async () => {
  redis = await redisClient();
  await redis.connect();
});
afterAll(async () => {
  redis?.disconnect();
});

/** A fresh org id per test, so tests never share Redis keys. */
let nextOrg = Math.floor(Math.random() * 1e9) * 1000;
const newOrg = () => ++nextOrg;

function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe.each(ADAPTERS)('guards through %s', (adapter) => {
  let config: MutableConfig;
  let svc: TestService;
  beforeAll(async () => {
    config = new MutableConfig();
    svc = await startService(adapter, redis, config, { bodyLimitBytes: 64 * 1024, idempotency: { inProgressSeconds: 2 } });
  });
  afterAll(async () => {
    await svc?.close();
  });
  beforeEach(() => {
    config.setLimits([]);
    config.corsOrigins = [];
  });

  describe('Idempotency-Key', () => {
    it('runs one of two concurrent requests with the same key; the other gets 409', async () => {
      const org = newOrg();
      const key = randomUUID();
      const [a, b] = await Promise.all([
        post(svc.url, `/orgs/${org}/things`, { name: 'a' }, { 'idempotency-key': key, 'x-delay-ms': '300' }),
        new Promise((r) => setTimeout(r, 50)).then(() => post(svc.url, `/orgs/${org}/things`, { name: 'a' }, { 'idempotency-key': key })),
      ]);
      expect([a.status, b.status]).toEqual([201, 409]);
      expect(await errorOf(b)).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect(svc.runs.get(org)).toBe(1);
    });

    it('replays the identical response with Idempotent-Replayed: true, and runs once', async () => {
      const org = newOrg();
      const key = randomUUID();
      const first = await post(svc.url, `/orgs/${org}/things`, { name: 'x' }, { 'idempotency-key': key });
      const firstBody = await first.text();
      const again = await post(svc.url, `/orgs/${org}/things`, { name: 'x' }, { 'idempotency-key': key });
      expect(again.status).toBe(201);
      expect(await again.text()).toBe(firstBody);
      expect(again.headers.get('location')).toBe(first.headers.get('location'));
      expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect(svc.runs.get(org)).toBe(1);
    });

    it('answers 422 for the same key with another body, and runs nothing more', async () => {
      const org = newOrg();
      const key = randomUUID();
      expect((await post(svc.url, `/orgs/${org}/things`, { name: 'x' }, { 'idempotency-key': key })).status).toBe(201);
      const other = await post(svc.url, `/orgs/${org}/things`, { name: 'y' }, { 'idempotency-key': key });
      expect(other.status).toBe(422);
      expect(await errorOf(other)).toBe('IDEMPOTENCY_KEY_MISMATCH');
      expect(svc.runs.get(org)).toBe(1);
    });

    it('scopes keys by org and caller: another user with the same key runs its own request', async () => {
      const org = newOrg();
      const key = 'order-1';
      expect((await post(svc.url, `/orgs/${org}/things`, { name: 'x' }, { 'idempotency-key': key, 'x-user-id': 'alice' })).status).toBe(
        201,
      );
      const bob = await post(svc.url, `/orgs/${org}/things`, { name: 'x' }, { 'idempotency-key': key, 'x-user-id': 'bob' });
      expect(bob.status).toBe(201);
      expect(bob.headers.get('idempotent-replayed')).toBeNull();
      expect(svc.runs.get(org)).toBe(2);
    });

    it.each([
      ['over 255 characters', 'k'.repeat(256)],
      ['with a control character', 'abc\u0001'],
      ['empty', '""'],
    ])('answers 400 for a key %s, and runs nothing', async (_what, key) => {
      const org = newOrg();
      const res = await post(svc.url, `/orgs/${org}/things`, { name: 'x' }, { 'idempotency-key': key }).catch(() => null);
      // fetch itself refuses a header with a control character: then nothing reached the service.
      if (res) {
        expect(res.status).toBe(400);
        expect(await errorOf(res)).toBe('INVALID_IDEMPOTENCY_KEY');
      }
      expect(svc.runs.get(org)).toBeUndefined();
    });

    it('answers 400 IDEMPOTENCY_KEY_REQUIRED when a create comes without one', async () => {
      const org = newOrg();
      const res = await post(svc.url, `/orgs/${org}/things`, { name: 'x' });
      expect(res.status).toBe(400);
      expect(await errorOf(res)).toBe('IDEMPOTENCY_KEY_REQUIRED');
      expect(svc.runs.get(org)).toBeUndefined();
    });

    it('does not store a 5xx: a retry with the same key runs again', async () => {
      const org = newOrg();
      const key = randomUUID();
      expect((await post(svc.url, `/orgs/${org}/things`, { fail: true }, { 'idempotency-key': key })).status).toBe(500);
      const retry = await post(svc.url, `/orgs/${org}/things`, { fail: true }, { 'idempotency-key': key });
      expect(retry.status).toBe(500);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
    });
  });

  describe('rate limits', () => {
    it('refuses a burst over the limit with 429, Retry-After and the RateLimit headers', async () => {
      const org = newOrg();
      config.setLimits([policy({ tier: 'standard', limit: 3, burst: 3, windowSeconds: 60 })]);
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 5; i++) {
        last = await fetch(`${svc.url}/orgs/${org}/things`);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const retryAfter = Number(last!.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(20);
      expect(last!.headers.get('ratelimit-policy')).toBe('"org";q=3;w=60');
      expect(last!.headers.get('ratelimit')).toBe(`"org";r=0;t=${retryAfter}`);
      expect(await errorOf(last!)).toBe('RATE_LIMITED');
    });

    it('says how much is left on an allowed request, for the tightest limit', async () => {
      const org = newOrg();
      config.setLimits([policy({ limit: 100, burst: 10 }), policy({ subject: 'user', limit: 10, burst: 4, routeClass: 'reads' })]);
      const res = await fetch(`${svc.url}/orgs/${org}/things`, { headers: { 'x-user-id': 'u1' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"org";q=100;w=60, "user-reads";q=10;w=60');
      expect(res.headers.get('ratelimit')).toMatch(/^"user-reads";r=3;t=\d+$/);
    });

    it("applies an org's override over its tier, and the default tier when its own has none", async () => {
      const org = newOrg();
      config.setLimits([policy({ tier: 'default', limit: 50, burst: 50 }), policy({ tier: null, orgId: org, limit: 1, burst: 1 })]);
      expect((await fetch(`${svc.url}/orgs/${org}/things`)).status).toBe(200);
      expect((await fetch(`${svc.url}/orgs/${org}/things`)).status).toBe(429);
      const other = await fetch(`${svc.url}/orgs/${newOrg()}/things`, { headers: { 'x-tier': 'gold' } });
      expect(other.headers.get('ratelimit-policy')).toBe('"org";q=50;w=60');
    });

    it('shadow mode counts but never refuses', async () => {
      const org = newOrg();
      config.setLimits([policy({ limit: 1, burst: 1, shadow: true })]);
      for (let i = 0; i < 3; i++) expect((await fetch(`${svc.url}/orgs/${org}/things`)).status).toBe(200);
      const metrics = await svc.guards.registry.getSingleMetricAsString('orgplane_guard_decisions_total');
      expect(metrics).toMatch(/guard="rate_limit",outcome="shadow_limited"} [1-9]/);
    });
  });

  describe('body limit', () => {
    it('answers 413 from Content-Length before reading the body, and runs nothing', async () => {
      const org = newOrg();
      const status = await rawPost(svc.url, `/orgs/${org}/things`, { 'content-length': String(10 * 1024 * 1024) }, 'x'.repeat(1000));
      expect(status).toBe(413);
      expect(svc.runs.get(org)).toBeUndefined();
    });

    it('answers 413 for a chunked body once it passes the limit', async () => {
      const org = newOrg();
      const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
      let sent = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${svc.url}/orgs/${org}/things`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body,
        duplex: 'half',
      } as RequestInit).catch((err) => err);
      if (res instanceof Response) expect(res.status).toBe(413);
      expect(svc.runs.get(org)).toBeUndefined();
    });
  });

  describe('CORS', () => {
    it('allows a listed origin with credentials and Vary: Origin', async () => {
      config.corsOrigins = ['https://app.example.com'];
      const res = await fetch(`${svc.url}/orgs/${newOrg()}/things`, { headers: { origin: 'https://app.example.com' } });
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('vary')).toMatch(/Origin/);
    });

    it('gives a disallowed origin no CORS headers, and refuses its preflight', async () => {
      config.corsOrigins = ['https://app.example.com'];
      const res = await fetch(`${svc.url}/orgs/${newOrg()}/things`, { headers: { origin: 'https://evil.example.com' } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')).toMatch(/Origin/);
      const preflight = await fetch(`${svc.url}/orgs/${newOrg()}/things`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(403);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    });

    it("answers a listed origin's preflight", async () => {
      config.corsOrigins = ['https://app.example.com'];
      const res = await fetch(`${svc.url}/orgs/${newOrg()}/things`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'Content-Type, Idempotency-Key',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')).toContain('idempotency-key');
      const bad = await fetch(`${svc.url}/orgs/${newOrg()}/things`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'TRACE' },
      });
      expect(bad.status).toBe(403);
    });
  });

  describe('cache headers', () => {
    it('tags a response by org and property, and answers 304 to its ETag', async () => {
      const org = newOrg();
      const res = await fetch(`${svc.url}/orgs/${org}/things`);
      expect(res.headers.get('surrogate-key')).toBe(`org:${org} property:${org * 10}`);
      expect(res.headers.get('cache-tag')).toBe(`org:${org},property:${org * 10}`);
      expect(res.headers.get('cache-control')).toBe('private, max-age=0, must-revalidate');
      const again = await fetch(`${svc.url}/orgs/${org}/things`, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect(again.status).toBe(304);
    });
  });

  describe('connection caps', () => {
    it("refuses a user's 11th connection, and admits one once a slot frees", async () => {
      const org = newOrg();
      const open: AbortController[] = [];
      for (let i = 0; i < 10; i++) {
        const abort = new AbortController();
        const res = await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u1' }, signal: abort.signal });
        expect(res.status).toBe(200);
        open.push(abort);
      }
      const eleventh = await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u1' } });
      expect(eleventh.status).toBe(429);
      expect(await errorOf(eleventh)).toBe('TOO_MANY_CONNECTIONS');
      const otherUser = await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u2' }, signal: open[0]!.signal });
      expect(otherUser.status).toBe(200);
      open[1]!.abort();
      await expect
        .poll(async () => {
          const res = await fetch(`${svc.url}/orgs/${org}/events`, { headers: { 'x-user-id': 'u1' }, signal: open[2]!.signal }).catch(
            () => null,
          );
          return res?.status;
        })
        .toBe(200);
      for (const abort of open) abort.abort();
    });
  });
});

// biome-ignore lint/suspicious/noExplicitAny: error bodies are read loosely
const errorOf = async (res: Response): Promise<string> => ((await res.json()) as any).error.code;

/** A POST that declares a Content-Length and sends less: the guard must answer without waiting for it. */
function rawPost(base: string, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(body);
  });
}
