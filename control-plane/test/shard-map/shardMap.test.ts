import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, ORG_ID_MAX, seedClusters, startFixture } from '../helpers.js';

let f: Fixture;
let v0: number;
beforeAll(async () => {
  f = await startFixture();
  v0 = await seedClusters(f.api, ['primary-1', 'primary-2', 'primary-3']);
});
afterAll(async () => {
  await f?.close();
});

/** Everything a refused request must leave alone. */
async function state() {
  const [map, audit, changes] = await Promise.all([
    f.api.get('/v1/shard-map'),
    f.sql('SELECT count(*)::int AS n FROM audit_log'),
    f.sql('SELECT count(*)::int AS n FROM config_changes'),
  ]);
  return { map: map.body, audit: audit[0].n, changes: changes[0].n };
}

describe('PUT /v1/shard-map/ranges', () => {
  it.each([
    [
      'overlapping',
      [
        { lo: 0, hi: 100, clusterId: 'primary-1' },
        { lo: 100, hi: ORG_ID_MAX, clusterId: 'primary-2' },
      ],
    ],
    [
      'gapped',
      [
        { lo: 0, hi: 100, clusterId: 'primary-1' },
        { lo: 102, hi: ORG_ID_MAX, clusterId: 'primary-2' },
      ],
    ],
    ['not starting at 0', [{ lo: 1, hi: ORG_ID_MAX, clusterId: 'primary-1' }]],
    ['not reaching 2^53-1', [{ lo: 0, hi: 1_000_000, clusterId: 'primary-1' }]],
    ['empty', []],
  ])('refuses %s ranges with 400 INVALID_RANGES and changes nothing', async (_name, ranges) => {
    const before = await state();
    const res = await f.api.put('/v1/shard-map/ranges', { ranges });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_RANGES', hint: expect.any(String) });
    expect(await state()).toEqual(before);
  });

  it('refuses an unknown cluster with 404 CLUSTER_NOT_FOUND and a hint', async () => {
    const before = await state();
    const res = await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-9' }] });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'CLUSTER_NOT_FOUND', hint: expect.stringContaining('POST /v1/clusters') });
    expect(await state()).toEqual(before);
  });

  it.each([
    ['negative', -1],
    ['fractional', 0.5],
    ['beyond 2^53-1', 2 ** 53 + 2],
  ])('refuses a %s bound with 400 INVALID_ORG_ID', async (_name, lo) => {
    const res = await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo, hi: ORG_ID_MAX, clusterId: 'primary-1' }] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_ORG_ID', details: { field: 'ranges[0].lo' } });
  });

  it('replaces the map, sorted, and bumps the version', async () => {
    const ranges = [
      { lo: 5000, hi: ORG_ID_MAX, clusterId: 'primary-2' },
      { lo: 0, hi: 4999, clusterId: 'primary-1' },
    ];
    const res = await f.api.put('/v1/shard-map/ranges', { ranges, reason: 'initial layout', expectedVersion: v0 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      version: v0 + 1,
      ranges: [ranges[1], ranges[0]],
      // [5000, max] left primary-1, which holds no rows of it: allowed, and tombstoned there.
      reroutes: [
        {
          from: 'primary-1',
          to: 'primary-2',
          ranges: [{ lo: 5000, hi: ORG_ID_MAX }],
          orgIds: [],
          orgsWithRowsOnFrom: 0,
          sampleOrgIds: [],
          tombstoned: true,
        },
      ],
    });
    expect((await f.api.get('/v1/shard-map')).body).toEqual({ version: v0 + 1, ranges: [ranges[1], ranges[0]], placementCount: 0 });
  });
});

describe('stale expectedVersion', () => {
  it.each([
    ['PUT', '/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-3' }] }],
    ['POST', '/v1/shard-map/split', { at: 100 }],
    ['POST', '/v1/shard-map/assign', { lo: 0, hi: 4999, clusterId: 'primary-3' }],
    ['POST', '/v1/shard-map/merge', { lo: 0, hi: ORG_ID_MAX }],
    ['PUT', '/v1/placements/9', { clusterId: 'primary-3' }],
    ['PATCH', '/v1/clusters/primary-3', { state: 'draining' }],
  ])('%s %s answers 409 VERSION_CONFLICT and changes nothing', async (method, path, body) => {
    const before = await state();
    const res = await f.api.request(method as 'PUT', path, { body: { ...body, expectedVersion: before.map.version - 1 } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'VERSION_CONFLICT',
      details: { expectedVersion: before.map.version - 1, currentVersion: before.map.version },
    });
    expect(await state()).toEqual(before);
  });
});

describe('split, assign, merge', () => {
  it('splits the range holding `at` into exact halves', async () => {
    const { version } = (await f.api.get('/v1/shard-map')).body;
    const res = await f.api.post('/v1/shard-map/split', { at: 1000, expectedVersion: version });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      version: version + 1,
      ranges: [
        { lo: 0, hi: 999, clusterId: 'primary-1' },
        { lo: 1000, hi: 4999, clusterId: 'primary-1' },
        { lo: 5000, hi: ORG_ID_MAX, clusterId: 'primary-2' },
      ],
    });
  });

  it('refuses a split at the start of a range', async () => {
    const before = await state();
    const res = await f.api.post('/v1/shard-map/split', { at: 1000 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(await state()).toEqual(before);
  });

  it('refuses an assign whose bounds do not align, saying where to split', async () => {
    const before = await state();
    const res = await f.api.post('/v1/shard-map/assign', { lo: 1000, hi: 2999, clusterId: 'primary-3' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_RANGES', hint: 'split first at 3000' });
    const unknown = await f.api.post('/v1/shard-map/assign', { lo: 1000, hi: 4999, clusterId: 'primary-9' });
    expect(unknown.body.error.code).toBe('CLUSTER_NOT_FOUND');
    expect(await state()).toEqual(before);
  });

  it('assigns exactly the ranges in [lo, hi]', async () => {
    const res = await f.api.post('/v1/shard-map/assign', { lo: 1000, hi: ORG_ID_MAX, clusterId: 'primary-3', reason: 'rebalance' });
    expect(res.status).toBe(200);
    expect(res.body.ranges).toEqual([
      { lo: 0, hi: 999, clusterId: 'primary-1' },
      { lo: 1000, hi: 4999, clusterId: 'primary-3' },
      { lo: 5000, hi: ORG_ID_MAX, clusterId: 'primary-3' },
    ]);
  });

  it('refuses to merge ranges on different clusters', async () => {
    const before = await state();
    const res = await f.api.post('/v1/shard-map/merge', { lo: 0, hi: 4999 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_RANGES');
    expect(await state()).toEqual(before);
  });

  it('merges adjacent ranges on one cluster', async () => {
    const res = await f.api.post('/v1/shard-map/merge', { lo: 1000, hi: ORG_ID_MAX });
    expect(res.status).toBe(200);
    expect(res.body.ranges).toEqual([
      { lo: 0, hi: 999, clusterId: 'primary-1' },
      { lo: 1000, hi: ORG_ID_MAX, clusterId: 'primary-3' },
    ]);
  });
});

describe('audit and history', () => {
  it('writes one audit row per mutation with before and after', async () => {
    const entries = (await f.api.get('/v1/audit?limit=4')).body.entries;
    expect(entries.map((e: { action: string }) => e.action)).toEqual([
      'shard-map.merge',
      'shard-map.assign',
      'shard-map.split',
      'shard-map.set-ranges',
    ]);
    const assign = entries[1];
    expect(assign).toMatchObject({ actor: 'test-admin', reason: 'rebalance' });
    expect(assign.before.ranges[1]).toEqual({ lo: 1000, hi: 4999, clusterId: 'primary-1' });
    expect(assign.after.ranges[1]).toEqual({ lo: 1000, hi: 4999, clusterId: 'primary-3' });
    expect(entries[0].version).toBe(entries[1].version + 1);
    const [{ n }] = await f.sql('SELECT count(*)::int AS n FROM audit_log WHERE version IS NOT NULL');
    const [{ version }] = await f.sql('SELECT version::int FROM config_version');
    expect(n).toBe(version);
  });

  it('pages the audit log with before and filters by action', async () => {
    const first = (await f.api.get('/v1/audit?limit=2')).body.entries;
    const next = (await f.api.get(`/v1/audit?limit=2&before=${first[1].id}`)).body.entries;
    expect(next[0].id).toBeLessThan(first[1].id);
    const creates = (await f.api.get('/v1/audit?action=cluster.create')).body.entries;
    expect(creates.map((e: { after: { id: string } }) => e.after.id)).toEqual(['primary-3', 'primary-2', 'primary-1']);
    expect((await f.api.get('/v1/audit?limit=0')).body.error.code).toBe('INVALID_INPUT');
    expect((await f.api.get('/v1/audit?limit=ten')).body.error.code).toBe('INVALID_INPUT');
  });

  it('lists config changes newest first with actor, reason and the delta', async () => {
    const { changes } = (await f.api.get('/v1/shard-map/history?limit=3')).body;
    expect(changes.map((c: { action: string }) => c.action)).toEqual(['shard-map.merge', 'shard-map.assign', 'shard-map.split']);
    expect(changes[1]).toMatchObject({
      action: 'shard-map.assign',
      actor: 'test-admin',
      reason: 'rebalance',
      createdAt: expect.any(String),
      delta: { version: changes[1].version, action: 'shard-map.assign', ranges: expect.any(Array) },
    });
    expect(changes[1].delta.clusters).toBeUndefined();
    const older = (await f.api.get(`/v1/shard-map/history?before=${changes[2].version}&limit=100`)).body.changes;
    expect(older[0].version).toBe(changes[2].version - 1);
    expect(older.at(-1).version).toBe(1);
    expect(older.at(-1).delta.clusters).toHaveLength(1);
  });
});

describe('expectedVersion and the health checker', () => {
  /** A version the health checker bumped by itself (as ReplicaHealthService commits a replica state). */
  async function healthChange(): Promise<number> {
    const [{ v }] = await f.sql('UPDATE config_version SET version = version + 1 RETURNING version::int AS v');
    await f.sql(`INSERT INTO config_changes (version, action, delta) VALUES ($1, 'replica.health', $2::jsonb)`, [
      v,
      JSON.stringify({ version: v, action: 'replica.health', replicas: { upsert: [], remove: [] } }),
    ]);
    return v;
  }

  it('replica-health states after the version an operator read do not make it stale; a change someone made does', async () => {
    const read = (await f.api.get('/v1/shard-map')).body.version;
    await healthChange();
    const current = await healthChange();
    const split = await f.api.post('/v1/shard-map/split', { at: 300, expectedVersion: read, reason: 'read before two health states' });
    expect(split.status, split.text).toBe(200);
    expect(split.body.version).toBe(current + 1);
    // The split itself is a change someone made: the version read before it is stale now.
    await healthChange();
    const again = await f.api.post('/v1/shard-map/split', { at: 400, expectedVersion: read });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('VERSION_CONFLICT');
    // A version from the future is stale too.
    const future = await f.api.post('/v1/shard-map/split', { at: 400, expectedVersion: current + 100 });
    expect(future.status).toBe(409);
  });
});
