// The shard-map guard (src/features/shard-map/RerouteGuard.ts) against real tenant
// databases: a change that would route orgs away from the cluster holding their rows is
// refused and changes nothing; one that routes empty ranges works and leaves the clusters'
// ownership markers in step, so a runtime holding the old map is refused by the old
// cluster (OPF02) and finds the new one; `dataOn` forces a reroute after a restore; a
// draining cluster takes no new orgs.
import { freePort } from '@orgplane/embedded';
import { createRuntime } from '@orgplane/runtime';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Fixture, freshTenantDatabase, type Json, ORG_ID_MAX, seedOrgs, startFixture } from '../helpers.js';

const [A, B, C, GONE] = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-gone'];
let f: Fixture;
let url: string;
const pools: Record<string, pg.Pool> = {};

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_MOVE_EXECUTOR: 'off', ORGPLANE_LOG_LEVEL: 'warn' } });
  url = await f.cp.app.listen({ host: '127.0.0.1', port: 0 });
  for (const id of [A, B, C]) {
    const tenantUrl = await freshTenantDatabase();
    pools[id] = new pg.Pool({ connectionString: tenantUrl, max: 2 });
    expect((await f.api.post('/v1/clusters', { id, primary: { url: tenantUrl } })).status).toBe(201);
  }
  // A cluster whose primary does not answer (nothing listens on the port).
  const gone = `postgres://app:pw@127.0.0.1:${await freePort()}/app`;
  expect((await f.api.post('/v1/clusters', { id: GONE, primary: { url: gone } })).status).toBe(201);
  // The first map reroutes nothing: no cluster is asked.
  const ranges = await f.api.put('/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999, clusterId: A },
      { lo: 1000, hi: 1999, clusterId: A },
      { lo: 2000, hi: 4999, clusterId: B },
      { lo: 5000, hi: 5999, clusterId: GONE },
      { lo: 6000, hi: ORG_ID_MAX, clusterId: B },
    ],
  });
  expect(ranges.status, ranges.text).toBe(200);
  await seedOrgs(pools[A]!.options.connectionString!, [1, 2, 3, 500, 1200]);
  await seedOrgs(pools[B]!.options.connectionString!, [2001, 2002]);
  // 1200 has rows on A and is pinned there: [1000, 1999] holds no other org.
  expect((await f.api.put('/v1/placements/1200', { clusterId: A, reason: 'VIP' })).status).toBe(200);
});
afterAll(async () => {
  await f?.close();
  for (const pool of Object.values(pools)) await pool.end();
});

/** Everything a refused change must leave as it was, in the control DB and on every reachable cluster. */
async function snapshot(): Promise<Json> {
  const markers: Json = {};
  for (const [id, pool] of Object.entries(pools)) {
    markers[id] = {
      ranges: (await pool.query('SELECT lo::text, hi::text, state, reason FROM orgplane_range_markers ORDER BY lo')).rows,
      orgs: (await pool.query('SELECT org_id::text, state, move_id FROM orgplane_org_moves ORDER BY org_id')).rows,
    };
  }
  return {
    version: await f.sql('SELECT version::int FROM config_version'),
    ranges: await f.sql('SELECT lo::text, hi::text, cluster_id FROM shard_ranges ORDER BY lo'),
    placements: await f.sql('SELECT org_id::int, cluster_id, state, epoch::int FROM placements ORDER BY org_id'),
    audit: await f.sql('SELECT count(*)::int AS n FROM audit_log'),
    changes: await f.sql('SELECT count(*)::int AS n FROM config_changes'),
    moves: await f.sql('SELECT count(*)::int AS n FROM moves'),
    markers,
  };
}

async function served(clusterId: string, orgId: number): Promise<boolean> {
  return (await pools[clusterId]!.query('SELECT orgplane_org_served($1) AS s', [orgId])).rows[0].s;
}

async function claimState(clusterId: string, orgId: number): Promise<string | null> {
  try {
    await pools[clusterId]!.query('SELECT orgplane_claim_org($1)', [orgId]);
    return null;
  } catch (err) {
    return (err as { code?: string }).code ?? 'unknown';
  }
}

async function lastAudit(action: string): Promise<Json> {
  return (await f.api.get(`/v1/audit?action=${action}&limit=1`)).body.entries[0];
}

describe('a change that would strand rows is refused, and nothing changes', () => {
  it('shards assign of a populated range: 409 ORG_DATA_WOULD_BE_STRANDED with the count, sample ids and the move command', async () => {
    const before = await snapshot();
    const res = await f.api.post('/v1/shard-map/assign', { lo: 0, hi: 999, clusterId: C, reason: 'rebalance' });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'ORG_DATA_WOULD_BE_STRANDED',
      details: { from: A, to: C, orgCount: 4, sampleOrgIds: [1, 2, 3, 500], ranges: [{ lo: 0, hi: 999 }], orgIds: [] },
    });
    expect(res.body.error.message).toContain('4 org(s)');
    expect(res.body.error.message).toContain('1, 2, 3, 500');
    expect(res.body.error.hint).toContain(`orgplane orgs move --from ${A} --to ${C} --range 0-999 --percent 100`);
    expect(res.body.error.hint).toContain(`--data-on ${C}`);
    expect(await snapshot()).toEqual(before);
  });

  it('PUT /v1/shard-map/ranges that reroutes a populated range: refused the same way', async () => {
    const before = await snapshot();
    const res = await f.api.put('/v1/shard-map/ranges', {
      ranges: [
        { lo: 0, hi: 1999, clusterId: A },
        { lo: 2000, hi: 4999, clusterId: C }, // 2001 has rows on B
        { lo: 5000, hi: 5999, clusterId: GONE },
        { lo: 6000, hi: ORG_ID_MAX, clusterId: B },
      ],
    });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'ORG_DATA_WOULD_BE_STRANDED',
      details: { from: B, to: C, orgCount: 2, sampleOrgIds: [2001, 2002], ranges: [{ lo: 2000, hi: 4999 }] },
    });
    expect(await snapshot()).toEqual(before);
  });

  it('a pin of a populated org onto a cluster without its rows: refused, the hint moves the org', async () => {
    const before = await snapshot();
    const res = await f.api.put('/v1/placements/2', { clusterId: C });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'ORG_DATA_WOULD_BE_STRANDED', details: { from: A, to: C, orgCount: 1, orgIds: [2] } });
    expect(res.body.error.hint).toContain(`orgplane orgs move 2 --to ${C}`);
    expect(await snapshot()).toEqual(before);
  });

  it('an unpin that would route the org away from its rows: refused (PLACEMENT_OFF_RANGE), nothing changes', async () => {
    // 2002's rows are on B, its range too; say they were restored onto C, and it was pinned there.
    const pin = await f.api.put('/v1/placements/2002', { clusterId: C, dataOn: C, reason: 'restored onto C' });
    expect(pin.status, pin.text).toBe(200);
    expect(pin.body.reroutes).toEqual([
      { from: B, to: C, ranges: [], orgIds: [2002], orgsWithRowsOnFrom: 1, sampleOrgIds: [2002], tombstoned: true },
    ]);
    const before = await snapshot();
    const res = await f.api.delete('/v1/placements/2002');
    expect(res.status, res.text).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'PLACEMENT_OFF_RANGE', details: { orgId: 2002, clusterId: C, rangeClusterId: B } });
    expect(await snapshot()).toEqual(before);
  });

  it('the old cluster unreachable: 503 CLUSTER_UNREACHABLE naming it, with dataOn in the hint', async () => {
    const before = await snapshot();
    const res = await f.api.post('/v1/shard-map/assign', { lo: 5000, hi: 5999, clusterId: C });
    expect(res.status, res.text).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'CLUSTER_UNREACHABLE', details: { clusterId: GONE, to: C } });
    expect(res.body.error.hint).toContain(`dataOn: "${C}"`);
    expect(await snapshot()).toEqual(before);
  });

  it('the new cluster unreachable: 503 CLUSTER_UNREACHABLE even with dataOn, and the old cluster is not marked', async () => {
    const before = await snapshot();
    const res = await f.api.post('/v1/shard-map/assign', { lo: 1000, hi: 1999, clusterId: GONE, dataOn: GONE, reason: 'x' });
    expect(res.status, res.text).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'CLUSTER_UNREACHABLE', details: { clusterId: GONE } });
    expect(res.body.error.message).toContain('could not be updated');
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['assign', 'POST', '/v1/shard-map/assign', { lo: 0, hi: 999, clusterId: C, dataOn: B }, B, C],
    ['pin', 'PUT', '/v1/placements/2', { clusterId: C, dataOn: A }, A, C],
    [
      'PUT ranges',
      'PUT',
      '/v1/shard-map/ranges',
      {
        dataOn: A,
        ranges: [
          { lo: 0, hi: 1999, clusterId: C },
          { lo: 2000, hi: 4999, clusterId: B },
          { lo: 5000, hi: 5999, clusterId: GONE },
          { lo: 6000, hi: ORG_ID_MAX, clusterId: B },
        ],
      },
      A,
      C,
    ],
  ])('%s with dataOn naming another cluster than the destination: 400 DATA_ON_MISMATCH', async (_name, method, path, body, dataOn, to) => {
    const before = await snapshot();
    const res = await f.api.request(method as 'PUT', path, { body });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'DATA_ON_MISMATCH', details: { dataOn, to } });
    expect(await snapshot()).toEqual(before);
  });
});

describe('a change that strands nothing', () => {
  it('when its commit fails (a reason Postgres cannot store), both clusters get back the markers of the map that stays', async () => {
    const before = await snapshot();
    expect(await claimState(A, 1300)).toBeNull();
    // The markers are set inside the transaction; the audit row (the last write) then fails.
    const res = await f.api.post('/v1/shard-map/assign', { lo: 1000, hi: 1999, clusterId: C, reason: 'nul \u0000 here' });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    const after = await snapshot();
    expect({ ...after, markers: undefined }).toEqual({ ...before, markers: undefined });
    // A serves [1000, 1999] again; C, which it was about to be routed to, refuses it again
    // (a tombstone that says what the map that stays says), and keeps nothing else.
    // A: no range marker again; the 'owned' marker its pinned org 1200 got stays (it only says "served here").
    expect(after.markers[A].ranges).toEqual(before.markers[A].ranges);
    expect(after.markers[A].orgs).toEqual([...before.markers[A].orgs, { org_id: '1200', state: 'owned', move_id: expect.any(String) }]);
    expect(await claimState(A, 1300)).toBeNull();
    expect(await claimState(A, 1200)).toBeNull();
    expect(await claimState(C, 1300)).toBe('OPF02');
    expect(after.markers[C].ranges).toEqual([
      { lo: '1000', hi: '1999', state: 'moved', reason: expect.stringMatching(/^undo shard-map:\d+$/) },
    ]);
    expect(after.markers[C].orgs).toEqual(before.markers[C].orgs);
  });

  it('assigns an empty range: the old cluster tombstones it (OPF02), keeps its pinned org, the new one serves it; audited', async () => {
    expect(await claimState(A, 1300)).toBeNull();
    const res = await f.api.post('/v1/shard-map/assign', { lo: 1000, hi: 1999, clusterId: C, reason: 'new orgs go to C' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.reroutes).toEqual([
      { from: A, to: C, ranges: [{ lo: 1000, hi: 1999 }], orgIds: [], orgsWithRowsOnFrom: 0, sampleOrgIds: [], tombstoned: true },
    ]);
    const why = `shard-map:${res.body.version}`;
    expect((await pools[A]!.query('SELECT lo::int, hi::int, state, reason FROM orgplane_range_markers')).rows).toEqual([
      { lo: 1000, hi: 1999, state: 'moved', reason: why },
    ]);
    // An org of the range without rows yet: refused on A, served on C.
    expect(await claimState(A, 1300)).toBe('OPF02');
    expect(await served(C, 1300)).toBe(true);
    // 1200 stays pinned to A, which keeps serving it.
    expect(await served(A, 1200)).toBe(true);
    expect(await claimState(A, 999)).toBeNull();
    const entry = await lastAudit('shard-map.assign');
    expect(entry.after).toMatchObject({ dataOn: null, forced: false, reroutes: res.body.reroutes });
  });

  it('a runtime holding the old map is refused by the old cluster, refreshes, and writes on the new one', async () => {
    // Once held, nothing the watch stream sends reaches this runtime: its map stays as it was.
    let held: { released: Promise<void>; release(): void } | undefined;
    const heldFetch: typeof fetch = async (input, init) => {
      const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
      const res = await fetch(input, init);
      if (path !== '/v1/config/watch' || res.body === null) return res;
      const reader = res.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const chunk = await reader.read();
          while (held) await held.released;
          if (chunk.done) controller.close();
          else controller.enqueue(chunk.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const password = decodeURIComponent(new URL(inject('pgAdminUrl')).password);
    const runtime = createRuntime({
      url,
      token: f.tokens['sdk:read'],
      credentials: { password },
      fetch: heldFetch,
      heartbeatTimeoutMs: 600_000,
      poolOptions: { max: 2 },
    });
    runtime.on('error', () => {});
    try {
      await runtime.ready(10_000);
      let release = () => {};
      held = { released: new Promise<void>((resolve) => (release = resolve)), release: () => release() };
      expect(runtime.route(1500)).toBe(C); // after the assign above
      const version = runtime.version;
      // Route [1000, 1999] back to A (empty there too): the runtime does not hear of it.
      const back = await f.api.post('/v1/shard-map/assign', { lo: 1000, hi: 1999, clusterId: A, reason: 'back' });
      expect(back.status, back.text).toBe(200);
      expect(runtime.version).toBe(version);
      expect(runtime.route(1500)).toBe(C);
      const dbs: string[] = [];
      await runtime.transaction(1500, async (client) => {
        dbs.push((await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db);
        await client.query("INSERT INTO organizations (org_id, name) VALUES (1500, 'new org')");
      });
      const dbA = (await pools[A]!.query('SELECT current_database() AS db')).rows[0].db;
      expect(dbs).toEqual([dbA]);
      expect(runtime.route(1500)).toBe(A);
      expect((await pools[C]!.query('SELECT count(*)::int AS n FROM organizations WHERE org_id = 1500')).rows[0].n).toBe(0);
      expect(await claimState(C, 1500)).toBe('OPF02');
      expect(await claimState(A, 1500)).toBeNull();
    } finally {
      held?.release();
      held = undefined;
      await runtime.close();
    }
  });

  it('split and merge route nothing elsewhere: no reroutes, no cluster asked', async () => {
    const split = await f.api.post('/v1/shard-map/split', { at: 500 });
    expect(split.status, split.text).toBe(200);
    expect(split.body.reroutes).toBeUndefined();
    const merge = await f.api.post('/v1/shard-map/merge', { lo: 0, hi: 999 });
    expect(merge.status, merge.text).toBe(200);
    expect(merge.body.reroutes).toBeUndefined();
  });
});

describe('dataOn: the rows are on the destination already (a restore from backup)', () => {
  it('assigns a populated range, recording what the old cluster held, and tombstones it there', async () => {
    const res = await f.api.post('/v1/shard-map/assign', { lo: 0, hi: 999, clusterId: C, dataOn: C, reason: 'restored 0-999 onto C' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.reroutes).toEqual([
      { from: A, to: C, ranges: [{ lo: 0, hi: 999 }], orgIds: [], orgsWithRowsOnFrom: 4, sampleOrgIds: [1, 2, 3, 500], tombstoned: true },
    ]);
    expect(await claimState(A, 1)).toBe('OPF02');
    expect(await served(C, 1)).toBe(true);
    const entry = await lastAudit('shard-map.assign');
    expect(entry).toMatchObject({ reason: 'restored 0-999 onto C', after: { dataOn: C, forced: true, reroutes: res.body.reroutes } });
  });

  it('with the old cluster unreachable: skips it and says so (tombstoned: false) in the answer and the audit', async () => {
    const res = await f.api.post('/v1/shard-map/assign', { lo: 5000, hi: 5999, clusterId: C, dataOn: C, reason: 'GONE is lost' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.reroutes).toEqual([
      { from: GONE, to: C, ranges: [{ lo: 5000, hi: 5999 }], orgIds: [], orgsWithRowsOnFrom: null, sampleOrgIds: [], tombstoned: false },
    ]);
    expect((await lastAudit('shard-map.assign')).after).toMatchObject({ forced: true, reroutes: [{ from: GONE, tombstoned: false }] });
  });

  it('pins a populated org onto the cluster holding its restored rows; the old cluster refuses it, the new one serves it', async () => {
    const res = await f.api.put('/v1/placements/3', { clusterId: A, dataOn: A, reason: 'restored org 3 onto A' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.reroutes).toEqual([
      { from: C, to: A, ranges: [], orgIds: [3], orgsWithRowsOnFrom: 0, sampleOrgIds: [], tombstoned: true },
    ]);
    expect(await served(A, 3)).toBe(true); // inside A's tombstoned range, pinned back: 'owned'
    expect(await claimState(C, 3)).toBe('OPF02');
  });
});

describe('a draining cluster takes no new orgs', () => {
  beforeAll(async () => {
    expect((await f.api.patch(`/v1/clusters/${B}`, { state: 'draining' })).status).toBe(200);
  });

  it.each([
    ['a move of named orgs', 'POST', '/v1/moves', { orgIds: [1200], to: B }],
    ['a percent move', 'POST', '/v1/moves', { from: A, to: B, percent: 100 }],
    ['an assign', 'POST', '/v1/shard-map/assign', { lo: 1000, hi: 1999, clusterId: B }],
    ['a pin', 'PUT', '/v1/placements/1200', { clusterId: B }],
    ['a pin with dataOn', 'PUT', '/v1/placements/1200', { clusterId: B, dataOn: B, reason: 'x' }],
  ])('%s into it: 409 CLUSTER_NOT_ACCEPTING_ORGS, nothing changes', async (_name, method, path, body) => {
    const before = await snapshot();
    const res = await f.api.request(method as 'POST', path, { body });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'CLUSTER_NOT_ACCEPTING_ORGS', details: { clusterId: B, state: 'draining' } });
    expect(res.body.error.hint).toContain('moves out of it still work');
    expect(await snapshot()).toEqual(before);
  });

  it('moves out of it work', async () => {
    const res = await f.api.post('/v1/moves', { orgIds: [2001], to: A, reason: 'draining B' });
    expect(res.status, res.text).toBe(202);
    expect(res.body.moves).toEqual([expect.objectContaining({ orgId: 2001, from: B, to: A, state: 'pending' })]);
  });
});
