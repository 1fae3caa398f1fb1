// /api/client/register, /api/client/metrics, the features ETag, the admin import and
// the token rules of the Unleash client API, with the official unleash-client where an
// SDK is the caller.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseToken } from '../../src/features/auth/tokenFormat.js';
import { type Fixture, type Json, startFixture, waitFor } from '../helpers.js';
import { listen, startUnleash } from './client.js';

let f: Fixture;
let baseUrl: string;
beforeAll(async () => {
  f = await startFixture();
  baseUrl = await listen(f.cp);
});
afterAll(async () => {
  await f?.close();
});

const FEATURES = [
  { name: 'checkout.v2', enabled: true, strategies: [{ name: 'default' }], variants: [] },
  {
    name: 'banner',
    enabled: true,
    strategies: [{ name: 'userWithId', parameters: { userIds: '1,2' } }],
    variants: [{ name: 'blue', weight: 1000, stickiness: 'default', weightType: 'variable' }],
  },
];

async function importFeatures(features: unknown[] = FEATURES, segments: unknown[] = []) {
  const res = await f.api.post('/api/admin/features-import', { features, segments });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

const count = async (table: string): Promise<number> => (await f.sql(`SELECT count(*)::int AS n FROM ${table}`))[0].n;

/** A raw fetch with Unleash-style headers. */
async function call(method: string, path: string, authorization: string | undefined, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? (JSON.parse(text) as Json) : undefined, etag: res.headers.get('etag') };
}

describe('register and metrics from the official client', () => {
  it('stores the instance the client registers and the yes/no counts it reports', async () => {
    await importFeatures();
    const client = await startUnleash(baseUrl, f.tokens['sdk:read'], {
      appName: 'billing',
      instanceId: 'billing-1',
      disableMetrics: false,
      metricsInterval: 60_000,
      metricsJitter: 0,
    });
    try {
      // The client registers when it starts (perhaps before it has the features).
      await waitFor(
        'the registration',
        async () => (await f.sql("SELECT 1 FROM unleash_client_instances WHERE app_name = 'billing'")).length === 1,
      );
      const [instance] = await f.sql('SELECT * FROM unleash_client_instances WHERE app_name = $1', ['billing']);
      expect(instance).toMatchObject({
        instance_id: 'billing-1',
        sdk_version: expect.stringMatching(/^unleash-node-sdk:6\./),
        interval_ms: '60000',
        token_id: expect.any(String),
      });
      expect(instance.strategies).toEqual(expect.arrayContaining(['default', 'flexibleRollout', 'userWithId']));
      expect(instance.started).toBeInstanceOf(Date);

      for (let i = 0; i < 3; i++) client.isEnabled('checkout.v2');
      client.isEnabled('banner', { userId: '9' });
      client.getVariant('banner', { userId: '1' });
      const sent = once(client, 'sent');
      await client.flushMetrics();
      await sent;
      const rows = await f.sql('SELECT feature_name, yes, no, variants FROM unleash_client_metrics WHERE app_name = $1 ORDER BY 1', [
        'billing',
      ]);
      expect(rows).toEqual([
        { feature_name: 'banner', yes: '1', no: '1', variants: { blue: 1 } },
        { feature_name: 'checkout.v2', yes: '3', no: '0', variants: {} },
      ]);

      // A second report in the same hour adds up, variants included.
      client.isEnabled('checkout.v2');
      client.getVariant('banner', { userId: '2' });
      await client.flushMetrics();
      const again = await f.sql('SELECT feature_name, yes, no, variants FROM unleash_client_metrics WHERE app_name = $1 ORDER BY 1', [
        'billing',
      ]);
      expect(again).toEqual([
        { feature_name: 'banner', yes: '2', no: '1', variants: { blue: 2 } },
        { feature_name: 'checkout.v2', yes: '4', no: '0', variants: {} },
      ]);
    } finally {
      client.destroy();
    }
  });

  const registration = {
    appName: 'api-app',
    instanceId: 'i-1',
    sdkVersion: 'unleash-client-java:9.2.0',
    strategies: ['default'],
    started: '2026-01-02T03:04:05.000Z',
    interval: 15000,
  };
  const report = {
    appName: 'api-app',
    instanceId: 'i-1',
    bucket: { start: '2026-01-02T03:04:05.000Z', stop: '2026-01-02T03:05:05.000Z', toggles: { a: { yes: 2, no: 1, variants: {} } } },
  };

  it('answers 202 to a raw token and to a Bearer token, and keeps fields it does not know', async () => {
    expect((await call('POST', '/api/client/register', f.tokens['sdk:read'], { ...registration, platformName: 'jvm' })).status).toBe(202);
    expect((await call('POST', '/api/client/register', `Bearer ${f.tokens['sdk:read']}`, registration)).status).toBe(202);
    expect((await call('POST', '/api/client/metrics', f.tokens.admin, report)).status).toBe(202);
    expect((await call('POST', '/api/client/metrics', `Bearer ${f.tokens['sdk:read']}`, report)).status).toBe(202);
    const rows = await f.sql("SELECT yes, no, hour FROM unleash_client_metrics WHERE app_name = 'api-app'");
    expect(rows).toEqual([{ yes: '4', no: '2', hour: new Date('2026-01-02T03:00:00.000Z') }]);
    const [instance] = await f.sql("SELECT * FROM unleash_client_instances WHERE app_name = 'api-app'");
    expect(instance).toMatchObject({ instance_id: 'i-1', sdk_version: 'unleash-client-java:9.2.0', interval_ms: '15000' });
  });

  it.each([
    ['register without appName', '/api/client/register', { ...registration, appName: undefined }, 'appName'],
    ['register with strategies not a list', '/api/client/register', { ...registration, strategies: 'default' }, 'strategies'],
    ['register with a start that is no date', '/api/client/register', { ...registration, appName: 'x', started: 'yesterday' }, 'started'],
    ['register with an interval no bigint holds', '/api/client/register', { ...registration, appName: 'x', interval: 1e30 }, 'interval'],
    [
      'register with a start past year 9999',
      '/api/client/register',
      { ...registration, appName: 'x', started: '+275760-09-13T00:00:00.000Z' },
      'started',
    ],
    ['register with a NUL in appName', '/api/client/register', { ...registration, appName: 'x\u0000' }, 'body'],
    ['metrics without a bucket', '/api/client/metrics', { ...report, bucket: undefined }, 'bucket'],
    [
      'metrics with a negative count',
      '/api/client/metrics',
      { ...report, appName: 'x', bucket: { ...report.bucket, toggles: { a: { yes: -1, no: 0 } } } },
      'bucket.toggles.a.yes',
    ],
    [
      'metrics with a bucket start that is no date',
      '/api/client/metrics',
      { ...report, appName: 'x', bucket: { ...report.bucket, start: 'now' } },
      'bucket.start',
    ],
  ])('refuses %s with 400 and stores nothing', async (_what, path, body, field) => {
    const before = [await count('unleash_client_instances'), await count('unleash_client_metrics')];
    const res = await call('POST', path, f.tokens['sdk:read'], body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.details.map((d: Json) => d.field)).toContain(field);
    expect([await count('unleash_client_instances'), await count('unleash_client_metrics')]).toEqual(before);
  });

  it('refuses malformed JSON with 400 MALFORMED_JSON', async () => {
    const res = await fetch(`${baseUrl}/api/client/metrics`, {
      method: 'POST',
      headers: { authorization: f.tokens['sdk:read'], 'content-type': 'application/json' },
      body: '{"appName":',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.code).toBe('MALFORMED_JSON');
  });
});

describe('tokens on the Unleash client API', () => {
  const routes: [string, string, unknown][] = [
    ['GET', '/api/client/features', undefined],
    ['GET', '/api/client/delta', undefined],
    ['POST', '/api/client/register', { appName: 'a', instanceId: 'b' }],
    [
      'POST',
      '/api/client/metrics',
      { appName: 'a', instanceId: 'b', bucket: { start: '2026-01-01T00:00:00Z', stop: '2026-01-01T00:01:00Z', toggles: {} } },
    ],
  ];

  it.each(routes)('%s %s: 401 without a token or with an unknown one, 403 for operator and rollout tokens', async (method, path, body) => {
    expect((await call(method, path, undefined, body)).status).toBe(401);
    expect((await call(method, path, 'op_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', body)).status).toBe(401);
    expect((await call(method, path, 'Basic dXNlcjpwYXNz', body)).status).toBe(401);
    for (const scope of ['operator', 'rollout'] as const) {
      const res = await call(method, path, f.tokens[scope], body);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    for (const authorization of [f.tokens['sdk:read'], `Bearer ${f.tokens['sdk:read']}`, f.tokens.admin]) {
      expect((await call(method, path, authorization, body)).status).toBeLessThan(300);
    }
  });

  it('accepts the raw form only on /api/client/*: the rest of the API still wants Bearer', async () => {
    expect((await call('GET', '/v1/config', f.tokens['sdk:read'])).status).toBe(401);
    expect((await call('POST', '/api/admin/features-import', f.tokens.admin, { features: [] })).status).toBe(401);
  });

  it('lets the official client fail loudly with a token of the wrong scope', async () => {
    await expect(startUnleash(baseUrl, f.tokens.operator)).rejects.toThrow(/403/);
    await expect(startUnleash(baseUrl, 'not-a-token')).rejects.toThrow(/401/);
  });

  it('never writes a token to the log', () => {
    for (const token of Object.values(f.tokens)) {
      // The secret is base64url and may hold '_' itself: split('_') gave a fragment as
      // short as one character, found in any log by chance.
      const secret = parseToken(token)!.secret;
      expect(secret.length).toBeGreaterThanOrEqual(40);
      expect(f.log.text).not.toContain(secret);
    }
  });
});

describe('GET /api/client/features: ETag and 304', () => {
  it('answers 304 with no body while neither the config nor the import changes', async () => {
    await importFeatures();
    const first = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    expect(first.status).toBe(200);
    expect(first.etag).toMatch(/^"\d+-\d+"$/);
    expect(first.body).toEqual({ version: 2, features: expect.any(Array), segments: [] });
    expect(first.body.features.map((x: Json) => x.name)).toEqual(['checkout.v2', 'banner']);
    const again = await call('GET', '/api/client/features', f.tokens['sdk:read'], undefined, { 'if-none-match': first.etag! });
    expect(again).toMatchObject({ status: 304, text: '', etag: first.etag });
    const listed = await call('GET', '/api/client/features', f.tokens['sdk:read'], undefined, { 'if-none-match': `"x", W/${first.etag}` });
    expect(listed.status).toBe(304);
  });

  it('changes the ETag when an import replaces the features', async () => {
    const before = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    await importFeatures([{ name: 'only', enabled: false, strategies: [] }]);
    const after = await call('GET', '/api/client/features', f.tokens['sdk:read'], undefined, { 'if-none-match': before.etag! });
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(before.etag);
    expect(after.body.features).toEqual([{ name: 'only', enabled: false, strategies: [] }]);
  });

  it('changes the ETag when the config version moves', async () => {
    const before = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    await f.api.post('/v1/clusters', { id: 'primary-9', primary: { url: 'postgres://app:pw@db9/app' } });
    const after = await call('GET', '/api/client/features', f.tokens['sdk:read'], undefined, { 'if-none-match': before.etag! });
    expect(after.status).toBe(200);
    expect(after.etag).not.toBe(before.etag);
  });

  it('lets the official client poll: 304 while nothing changes, the new state after an import', async () => {
    await importFeatures([{ name: 'polled', enabled: false, strategies: [] }]);
    const client = await startUnleash(baseUrl, f.tokens['sdk:read'], { refreshInterval: 50 });
    try {
      await once(client, 'unchanged');
      expect(client.isEnabled('polled')).toBe(false);
      await importFeatures([{ name: 'polled', enabled: true, strategies: [] }]);
      await once(client, 'changed');
      expect(client.isEnabled('polled')).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('answers /api/client/delta with one hydration event of the same state, under the same ETag', async () => {
    await importFeatures();
    const full = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    const delta = await call('GET', '/api/client/delta', f.tokens['sdk:read']);
    expect(delta.etag).toBe(full.etag);
    expect(delta.body).toEqual({
      events: [{ eventId: expect.any(Number), type: 'hydration', features: full.body.features, segments: full.body.segments }],
    });
    expect((await call('GET', '/api/client/delta', f.tokens['sdk:read'], undefined, { 'if-none-match': delta.etag! })).status).toBe(304);
    await importFeatures([{ name: 'next', enabled: true, strategies: [] }]);
    const next = await call('GET', '/api/client/delta', f.tokens['sdk:read'], undefined, { 'if-none-match': delta.etag! });
    expect(next.status).toBe(200);
    expect(next.body.events[0].eventId).toBeGreaterThan(delta.body.events[0].eventId);
    expect(next.body.events[0].features.map((x: Json) => x.name)).toContain('next');
  });

  it('filters by namePrefix and project as Unleash does', async () => {
    await importFeatures([
      { name: 'pay.a', enabled: true, strategies: [], project: 'payments' },
      { name: 'ui.b', enabled: true, strategies: [] },
    ]);
    const prefixed = await call('GET', '/api/client/features?namePrefix=pay.', f.tokens['sdk:read']);
    expect(prefixed.body.features.map((x: Json) => x.name)).toEqual(['pay.a']);
    expect(prefixed.body.query).toEqual({ namePrefix: 'pay.' });
    const projects = await call('GET', '/api/client/features?project=default&project=other', f.tokens['sdk:read']);
    expect(projects.body.features.map((x: Json) => x.name)).toEqual(['ui.b']);
  });
});

describe('rollouts as features', () => {
  it('serves each rollout before the imports, shadows an import of the same name, and moves the ETag on every transition', async () => {
    await importFeatures([
      { name: 'search.v3', enabled: true, strategies: [], description: 'imported, shadowed by the rollout' },
      { name: 'kept', enabled: true, strategies: [] },
    ]);
    const rollouts = f.api.as(f.tokens.rollout);
    const created = await rollouts.post('/v1/rollouts', {
      flag: 'search.v3',
      groupId: 'search',
      stages: [{ percent: 10 }, { percent: 50 }],
    });
    expect(created.status, created.text).toBe(201);

    const off = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    expect(off.body.features.map((x: Json) => x.name)).toEqual(['search.v3', 'kept']);
    expect(off.body.features[0]).toMatchObject({
      enabled: false,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: '0', stickiness: 'orgId', groupId: 'search' } }],
    });

    let etag = off.etag!;
    for (const [verb, enabled, percent] of [
      ['advance', true, '10'],
      ['advance', true, '50'],
      ['kill', false, '50'],
    ] as const) {
      expect((await rollouts.post(`/v1/rollouts/search.v3/${verb}`, {})).status).toBe(200);
      const res = await call('GET', '/api/client/features', f.tokens['sdk:read'], undefined, { 'if-none-match': etag });
      expect(res.status).toBe(200);
      expect(res.etag).not.toBe(etag);
      expect(res.body.features[0]).toMatchObject({ name: 'search.v3', enabled, strategies: [{ parameters: { rollout: percent } }] });
      etag = res.etag!;
    }
  });
});

describe('POST /api/admin/features-import', () => {
  it('replaces the import wholesale and writes one audit row', async () => {
    const res = await f.api.post('/api/admin/features-import', {
      features: FEATURES,
      segments: [{ id: 7, constraints: [] }],
      reason: 'mirror prod',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revision: expect.any(Number), features: 2, segments: 1, importedAt: expect.any(String) });
    const [entry] = (await f.api.get('/v1/audit?action=unleash.import&limit=1')).body.entries;
    expect(entry).toMatchObject({
      actor: 'test-admin',
      reason: 'mirror prod',
      version: null,
      after: { revision: res.body.revision, features: ['checkout.v2', 'banner'], segments: [7] },
    });
    const served = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    expect(served.body.segments).toEqual([{ id: 7, constraints: [] }]);
    // Served back as imported, unknown fields included.
    expect(served.body.features.find((x: Json) => x.name === 'banner')).toEqual(FEATURES[1]);
  });

  it('applies delta events in order', async () => {
    const res = await f.api.post('/api/admin/features-import', {
      events: [
        { type: 'hydration', eventId: 1, features: [{ name: 'x', enabled: true, strategies: [] }], segments: [{ id: 1, constraints: [] }] },
        { type: 'feature-updated', eventId: 2, feature: { name: 'y', enabled: true, strategies: [] } },
        { type: 'feature-removed', eventId: 3, featureName: 'x' },
        { type: 'segment-removed', eventId: 4, segmentId: 1 },
      ],
    });
    expect(res.body).toMatchObject({ features: 1, segments: 0 });
  });

  it.each([
    ['a feature without enabled', { features: [{ name: 'a', strategies: [] }] }],
    [
      'a constraint without operator',
      { features: [{ name: 'a', enabled: true, strategies: [{ name: 'default', constraints: [{ contextName: 'x' }] }] }] },
    ],
    ['neither features nor events', { segments: [] }],
    ['both features and events', { features: [], events: [] }],
    ['an unknown event type', { events: [{ type: 'feature-renamed' }] }],
    [
      'two features of one name',
      {
        features: [
          { name: 'a', enabled: true, strategies: [] },
          { name: 'a', enabled: false, strategies: [] },
        ],
      },
    ],
    [
      'two segments of one id',
      {
        features: [],
        segments: [
          { id: 1, constraints: [] },
          { id: 1, constraints: [] },
        ],
      },
    ],
    ['a NUL character', { features: [{ name: 'a', enabled: true, strategies: [], description: 'x\u0000y' }] }],
  ])('refuses %s with 400 INVALID_INPUT and keeps the previous import', async (_what, body) => {
    const before = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    const audits = (await f.api.get('/v1/audit?action=unleash.import')).body.entries.length;
    const res = await f.api.post('/api/admin/features-import', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    const after = await call('GET', '/api/client/features', f.tokens['sdk:read']);
    expect(after.etag).toBe(before.etag);
    expect(after.body).toEqual(before.body);
    expect((await f.api.get('/v1/audit?action=unleash.import')).body.entries.length).toBe(audits);
  });

  it('refuses every scope but admin with 403', async () => {
    for (const scope of ['sdk:read', 'operator', 'rollout'] as const) {
      const res = await f.api.as(f.tokens[scope]).post('/api/admin/features-import', { features: [] });
      expect(res.status).toBe(403);
    }
  });
});
