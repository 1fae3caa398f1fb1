// Rate-limit policies and the CORS allow-list through the API: each change is a config
// version with a delta and an audit row; bad input is a named error and changes nothing.
import { createTestDatabase } from '@orgplane/embedded';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Fixture, SEEDED_RATE_LIMITS, seedOrgs, startFixture, WHOLE_MAP } from '../helpers.js';

let f: Fixture;
let tenantUrl: string;
beforeAll(async () => {
  f = await startFixture();
  tenantUrl = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
  await seedOrgs(tenantUrl, [42]);
  await f.api.post('/v1/clusters', { id: 'primary-1', primary: { url: tenantUrl } });
  await f.api.put('/v1/shard-map/ranges', { ranges: WHOLE_MAP('primary-1') });
});
afterAll(async () => {
  await f?.close();
});

async function state() {
  const version = (await f.api.get('/v1/config')).body.version;
  const limits = (await f.api.get('/v1/limits')).body.policies;
  const origins = (await f.api.get('/v1/cors')).body.origins;
  const audits = (await f.sql('SELECT count(*)::int AS n FROM audit_log'))[0].n;
  return { version, limits, origins, audits };
}

describe('rate-limit policies', () => {
  it('lists the seeded tier defaults', async () => {
    const res = await f.api.as(f.tokens.operator).get('/v1/limits');
    expect(res.status).toBe(200);
    expect(res.body.policies).toEqual(SEEDED_RATE_LIMITS);
    expect((await f.api.get('/v1/limits?tier=starter')).body.policies).toHaveLength(1);
  });

  it('sets a tier default: a new version, a delta with every policy, an audit row', async () => {
    const before = await state();
    const res = await f.api
      .as(f.tokens.operator)
      .put('/v1/limits/tiers/standard/org/writes', { limit: 100, windowSeconds: 10, reason: 'protect the primary' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      version: before.version + 1,
      policy: {
        tier: 'standard',
        orgId: null,
        subject: 'org',
        routeClass: 'writes',
        limit: 100,
        windowSeconds: 10,
        burst: 100,
        shadow: false,
      },
    });
    const [change] = await f.sql('SELECT delta FROM config_changes WHERE version = $1', [res.body.version]);
    expect(change.delta.action).toBe('limits.set');
    expect(change.delta.rateLimits).toContainEqual(res.body.policy);
    expect(change.delta.rateLimits).toHaveLength(SEEDED_RATE_LIMITS.length + 1);
    const [entry] = (await f.api.get('/v1/audit?action=limits.set&limit=1')).body.entries;
    expect(entry).toMatchObject({ reason: 'protect the primary', before: null, after: res.body.policy, version: res.body.version });
    expect((await f.api.get('/v1/config')).body.rateLimits).toContainEqual(res.body.policy);
  });

  it('overrides one org that exists, and unsets it', async () => {
    const set = await f.api.put('/v1/limits/orgs/42/user/all', { limit: 5, windowSeconds: 1, burst: 2, shadow: true });
    expect(set.status).toBe(200);
    expect(set.body.policy).toEqual({
      tier: null,
      orgId: 42,
      subject: 'user',
      routeClass: 'all',
      limit: 5,
      windowSeconds: 1,
      burst: 2,
      shadow: true,
    });
    expect((await f.api.get('/v1/limits?orgId=42')).body.policies).toEqual([set.body.policy]);
    const unset = await f.api.delete('/v1/limits/orgs/42/user/all?reason=done');
    expect(unset.status).toBe(200);
    expect(unset.body).toEqual({ version: set.body.version + 1, policy: set.body.policy });
    const [change] = await f.sql('SELECT delta FROM config_changes WHERE version = $1', [unset.body.version]);
    expect(change.delta.rateLimits).not.toContainEqual(set.body.policy);
  });

  it.each([
    ['a negative rate', '/v1/limits/tiers/standard/org/all', { limit: -1, windowSeconds: 60 }, 400, 'INVALID_INPUT'],
    ['a zero window', '/v1/limits/tiers/standard/org/all', { limit: 10, windowSeconds: 0 }, 400, 'INVALID_INPUT'],
    ['a fractional rate', '/v1/limits/tiers/standard/org/all', { limit: 1.5, windowSeconds: 60 }, 400, 'INVALID_INPUT'],
    ['a window over a day', '/v1/limits/tiers/standard/org/all', { limit: 1, windowSeconds: 86_401 }, 400, 'INVALID_INPUT'],
    ['an unknown subject', '/v1/limits/tiers/standard/team/all', { limit: 1, windowSeconds: 1 }, 400, 'INVALID_INPUT'],
    ['a bad tier name', '/v1/limits/tiers/Gold%20Plan/org/all', { limit: 1, windowSeconds: 1 }, 400, 'INVALID_INPUT'],
    ['an unknown org', '/v1/limits/orgs/43/org/all', { limit: 1, windowSeconds: 1 }, 404, 'ORG_NOT_FOUND'],
    ['an org id that is not one', '/v1/limits/orgs/-3/org/all', { limit: 1, windowSeconds: 1 }, 400, 'INVALID_ORG_ID'],
  ])('refuses %s and changes nothing', async (_what, url, body, status, code) => {
    const before = await state();
    const res = await f.api.put(url, body);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(await state()).toEqual(before);
  });

  it('answers 404 RATE_LIMIT_NOT_FOUND for unsetting a policy that is not there', async () => {
    const before = await state();
    const res = await f.api.delete('/v1/limits/tiers/standard/user/reports');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'RATE_LIMIT_NOT_FOUND', hint: expect.stringContaining('limits list') });
    expect(await state()).toEqual(before);
  });

  it('needs the operator scope to change a limit', async () => {
    expect((await f.api.as(f.tokens.rollout).put('/v1/limits/tiers/standard/org/all', { limit: 1, windowSeconds: 1 })).status).toBe(403);
    expect((await f.api.as(f.tokens['sdk:read']).get('/v1/limits')).status).toBe(403);
    expect((await f.api.as(undefined).get('/v1/limits')).status).toBe(401);
  });
});

describe('the CORS allow-list', () => {
  it('adds an origin in canonical form, with a delta and an audit row', async () => {
    const before = await state();
    const res = await f.api.post('/v1/cors/origins', { origin: 'https://app.example.com', reason: 'web app' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ version: before.version + 1, origin: 'https://app.example.com', origins: ['https://app.example.com'] });
    const [change] = await f.sql('SELECT delta FROM config_changes WHERE version = $1', [res.body.version]);
    expect(change.delta).toMatchObject({ action: 'cors.add', corsOrigins: ['https://app.example.com'] });
    expect((await f.api.get('/v1/audit?action=cors.add&limit=1')).body.entries[0]).toMatchObject({
      after: { origin: 'https://app.example.com' },
    });
    expect((await f.api.get('/v1/config')).body.corsOrigins).toEqual(['https://app.example.com']);
  });

  it('drops a default port (https://a:443 is https://a)', async () => {
    const res = await f.api.post('/v1/cors/origins', { origin: 'http://localhost:5173' });
    expect(res.body.origins).toEqual(['http://localhost:5173', 'https://app.example.com']);
    const dup = await f.api.post('/v1/cors/origins', { origin: 'https://app.example.com:443' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('ALREADY_EXISTS');
  });

  it.each([
    'app.example.com',
    'https://app.example.com/',
    'https://app.example.com/path',
    'https://*.example.com',
    'ftp://files.example.com',
    'https://user:pw@example.com',
    'null',
    '',
  ])('refuses %j as INVALID_ORIGIN and changes nothing', async (origin) => {
    const before = await state();
    const res = await f.api.post('/v1/cors/origins', { origin });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(origin === '' ? 'INVALID_INPUT' : 'INVALID_ORIGIN');
    expect(await state()).toEqual(before);
  });

  it('removes an origin by its URL-encoded path, and 404s for one not listed', async () => {
    const res = await f.api.delete(`/v1/cors/origins/${encodeURIComponent('http://localhost:5173')}`);
    expect(res.status).toBe(200);
    expect(res.body.origins).toEqual(['https://app.example.com']);
    const before = await state();
    const again = await f.api.delete(`/v1/cors/origins/${encodeURIComponent('http://localhost:5173')}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('CORS_ORIGIN_NOT_FOUND');
    expect(await state()).toEqual(before);
  });
});
