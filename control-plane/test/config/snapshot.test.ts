import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, ORG_ID_MAX, SEEDED_RATE_LIMITS, startFixture, waitFor } from '../helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

describe('GET /v1/config', () => {
  it('answers an empty config at version 0', async () => {
    const res = await f.api.as(f.tokens['sdk:read']).get('/v1/config');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"0"');
    expect(res.body).toEqual({
      version: 0,
      generatedAt: expect.any(String),
      clusters: [],
      ranges: [],
      placements: [],
      replicas: [],
      rollouts: [],
      cohorts: [],
      rateLimits: SEEDED_RATE_LIMITS,
      corsOrigins: [],
    });
  });

  it('answers the whole config at one version, without passwords', async () => {
    await f.api.post('/v1/clusters', {
      id: 'primary-1',
      primary: { url: 'postgres://app:pw1@db1/app' },
      replicas: [{ id: 'replica-1a', url: 'postgres://ro:pw2@db1r/app' }],
    });
    await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }] });
    await f.api.put('/v1/placements/77', { clusterId: 'primary-1', state: 'fenced' });
    const res = await f.api.as(f.tokens['sdk:read']).get('/v1/config');
    expect(res.headers.etag).toBe('"3"');
    expect(res.body).toEqual({
      version: 3,
      generatedAt: expect.any(String),
      clusters: [
        {
          id: 'primary-1',
          state: 'active',
          primary: { url: 'postgres://app@db1/app' },
          replicas: [{ id: 'replica-1a', url: 'postgres://ro@db1r/app' }],
        },
      ],
      ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }],
      placements: [{ orgId: 77, clusterId: 'primary-1', state: 'fenced', epoch: 1 }],
      replicas: [{ id: 'replica-1a', clusterId: 'primary-1', state: 'unknown', lagSeconds: null, lagBytes: null, checkedAt: null }],
      rollouts: [],
      cohorts: [],
      rateLimits: SEEDED_RATE_LIMITS,
      corsOrigins: [],
    });
    expect(res.text).not.toMatch(/pw1|pw2/);
  });

  it('answers 304 with no body when If-None-Match names the current version', async () => {
    const res = await f.api.get('/v1/config', { 'if-none-match': '"3"' });
    expect(res.status).toBe(304);
    expect(res.text).toBe('');
    expect(res.headers.etag).toBe('"3"');
  });

  it('answers the new snapshot once the version moves on', async () => {
    await f.api.delete('/v1/placements/77');
    const res = await f.api.get('/v1/config', { 'if-none-match': '"3"' });
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('"4"');
    expect(res.body.placements).toEqual([]);
  });
});

describe('health and metrics', () => {
  it('counts requests by route pattern, not by URL, and errors by code', async () => {
    await f.api.get('/v1/orgs/1/location');
    await f.api.get('/v1/orgs/2/location');
    await f.api.get('/v1/orgs/x/location');
    await waitFor('the hub to fan out version 4', () => f.cp.hub.version === 4);
    const text = (await f.api.get('/metrics')).text;
    expect(text).toMatch(
      /orgplane_http_request_duration_seconds_count\{route="\/v1\/orgs\/:orgId\/location",method="GET",status_code="200"\} 2/,
    );
    expect(text).not.toContain('/v1/orgs/1/location');
    expect(text).toMatch(/orgplane_http_errors_total\{code="INVALID_ORG_ID"\} 1/);
    expect(text).toMatch(/orgplane_config_version 4/);
    expect(text).toMatch(/orgplane_config_watchers 0/);
    expect(text).toMatch(/orgplane_config_notify_lag_seconds_count 4/);
  });

  it('reports not ready once the LISTEN connection is gone', async () => {
    expect((await f.api.get('/readyz')).status).toBe(200);
    await f.cp.hub.close();
    const res = await f.api.get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'unavailable', checks: { db: true, listen: false } });
    expect((await f.api.get('/healthz')).status).toBe(200);
  });
});
