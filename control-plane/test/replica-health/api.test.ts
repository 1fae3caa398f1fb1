// The replica-health API without probes: listing, drain and undrain as config changes
// (version, delta, audit), thresholds as audited settings, and every bad input named
// with nothing changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, type Json, seedClusters, startFixture } from '../helpers.js';

let f: Fixture;

beforeAll(async () => {
  f = await startFixture();
  await seedClusters(f.api, ['primary-1', 'primary-2']);
  for (const [cluster, id] of [
    ['primary-1', 'replica-1a'],
    ['primary-1', 'replica-1b'],
    ['primary-2', 'replica-2a'],
  ] as const) {
    const res = await f.api.post(`/v1/clusters/${cluster}/replicas`, { id, url: `postgres://ro:secret-${id}@${id}.internal/app` });
    expect(res.status, res.text).toBe(201);
  }
});

afterAll(() => f?.close());

async function version(): Promise<number> {
  return (await f.api.get('/v1/config')).body.version;
}

async function state(): Promise<{ version: number; replicas: Json[]; settings: Json; audit: number }> {
  return {
    version: await version(),
    replicas: (await f.api.get('/v1/replicas')).body.replicas,
    settings: (await f.api.get('/v1/replicas/settings')).body,
    audit: (await f.sql('SELECT count(*)::int AS n FROM audit_log'))[0].n,
  };
}

describe('GET /v1/replicas', () => {
  it('lists every replica, unknown until probed, without URLs; --cluster narrows it', async () => {
    const all = await f.api.get('/v1/replicas');
    expect(all.status).toBe(200);
    expect(all.body.replicas.map((r: Json) => [r.id, r.clusterId, r.state, r.lagSeconds])).toEqual([
      ['replica-1a', 'primary-1', 'unknown', null],
      ['replica-1b', 'primary-1', 'unknown', null],
      ['replica-2a', 'primary-2', 'unknown', null],
    ]);
    expect(all.text).not.toContain('secret');
    const one = await f.api.get('/v1/replicas?cluster=primary-2');
    expect(one.body.replicas.map((r: Json) => r.id)).toEqual(['replica-2a']);
  });

  it('an unknown cluster is CLUSTER_NOT_FOUND', async () => {
    const res = await f.api.get('/v1/replicas?cluster=nope');
    expect([res.status, res.body.error.code]).toEqual([404, 'CLUSTER_NOT_FOUND']);
  });

  it('needs a token with a read scope', async () => {
    expect((await f.api.as(undefined).get('/v1/replicas')).status).toBe(401);
    expect((await f.api.as(f.tokens['sdk:read']).get('/v1/replicas')).status).toBe(403);
  });
});

describe('drain and undrain', () => {
  it('drain is a config change: a version, the replica list as the delta, an audit row', async () => {
    const before = await version();
    const res = await f.api.as(f.tokens.operator).post('/v1/replicas/replica-1a/drain', { reason: 'disk swap' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.version).toBe(before + 1);
    expect(res.body.replica).toMatchObject({ id: 'replica-1a', state: 'draining', drained: true });
    const [change] = await f.sql('SELECT action, delta FROM config_changes WHERE version = $1', [res.body.version]);
    expect(change.action).toBe('replica.drain');
    expect(change.delta.replicas.find((r: Json) => r.id === 'replica-1a').state).toBe('draining');
    const snapshot = (await f.api.get('/v1/config')).body;
    expect(snapshot.replicas.find((r: Json) => r.id === 'replica-1a').state).toBe('draining');
    const [audit] = await f.sql("SELECT reason, version FROM audit_log WHERE action = 'replica.drain'");
    expect(audit).toEqual({ reason: 'disk swap', version: String(res.body.version) });
  });

  it('undrain puts it back to what the probes say (unknown here), also as a config change', async () => {
    const res = await f.api.as(f.tokens.operator).post('/v1/replicas/replica-1a/undrain', {});
    expect(res.status, res.text).toBe(200);
    expect(res.body.replica).toMatchObject({ state: 'unknown', drained: false });
    expect((await f.sql("SELECT count(*)::int AS n FROM audit_log WHERE action = 'replica.undrain'"))[0].n).toBe(1);
  });

  it('needs the operator scope', async () => {
    expect((await f.api.as(f.tokens.rollout).post('/v1/replicas/replica-1a/drain', {})).status).toBe(403);
  });
});

describe('bad input: a named error and nothing changes', () => {
  it('an unknown replica is REPLICA_NOT_FOUND', async () => {
    const before = await state();
    const res = await f.api.as(f.tokens.operator).post('/v1/replicas/nope/drain', {});
    expect([res.status, res.body.error.code]).toEqual([404, 'REPLICA_NOT_FOUND']);
    expect(await state()).toEqual(before);
  });

  it('draining a draining replica is REPLICA_ALREADY_DRAINING; undraining a serving one REPLICA_NOT_DRAINING', async () => {
    await f.api.as(f.tokens.operator).post('/v1/replicas/replica-2a/drain', {});
    const before = await state();
    const again = await f.api.as(f.tokens.operator).post('/v1/replicas/replica-2a/drain', {});
    expect([again.status, again.body.error.code]).toEqual([409, 'REPLICA_ALREADY_DRAINING']);
    const undrain = await f.api.as(f.tokens.operator).post('/v1/replicas/replica-1b/undrain', {});
    expect([undrain.status, undrain.body.error.code]).toEqual([409, 'REPLICA_NOT_DRAINING']);
    expect(await state()).toEqual(before);
  });

  it('a warning lag not below the critical lag is INVALID_THRESHOLDS', async () => {
    const before = await state();
    for (const body of [{ lagWarnSeconds: 10 }, { lagWarnSeconds: 12, lagCriticalSeconds: 11 }, { lagCriticalSeconds: 5 }]) {
      const res = await f.api.as(f.tokens.operator).patch('/v1/replicas/settings', body);
      expect([res.status, res.body.error.code], JSON.stringify(body)).toEqual([400, 'INVALID_THRESHOLDS']);
    }
    const negative = await f.api.as(f.tokens.operator).patch('/v1/replicas/settings', { lagWarnSeconds: -1 });
    expect([negative.status, negative.body.error.code]).toEqual([400, 'INVALID_INPUT']);
    expect(await state()).toEqual(before);
  });

  it('a replica URL that is not a Postgres URL is refused, and no replica appears', async () => {
    const before = await state();
    for (const url of ['http://db/app', 'not a url', 'mysql://db/app']) {
      const res = await f.api.post('/v1/clusters/primary-2/replicas', { id: 'replica-2z', url });
      expect(res.status, url).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
    }
    expect(await state()).toEqual(before);
  });
});

describe('settings', () => {
  it('start at 5 s / 10 s and change with an audit row, not a config version', async () => {
    expect((await f.api.get('/v1/replicas/settings')).body).toMatchObject({ lagWarnSeconds: 5, lagCriticalSeconds: 10 });
    const before = await version();
    const res = await f.api.as(f.tokens.operator).patch('/v1/replicas/settings', { lagWarnSeconds: 3, reason: 'tighter' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ lagWarnSeconds: 3, lagCriticalSeconds: 10 });
    expect(await version()).toBe(before);
    const [audit] = await f.sql("SELECT reason, before, after FROM audit_log WHERE action = 'replica.settings'");
    expect(audit.reason).toBe('tighter');
    expect([audit.before.lagWarnSeconds, audit.after.lagWarnSeconds]).toEqual([5, 3]);
  });
});
