// POST /v1/shard-map/rebalance and POST /v1/moves {range}: the plan is cut from the
// source's real org-id distribution (by orgs and by rows), a dry run changes nothing, a
// real run splits the map and starts a range move of the top, and every bad input is
// refused by name with the map, the moves and the audit log as they were. The executor
// is off here, so created moves stay pending.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, freshTenantDatabase, type Json, ORG_ID_MAX, seedOrgs, startFixture } from '../helpers.js';

let f: Fixture;
const tenants: Record<string, string> = {};

/** Everything a refused request must leave as it was. */
async function state(): Promise<Json> {
  return {
    counts: await f.sql(
      `SELECT (SELECT count(*)::int FROM moves) AS moves, (SELECT count(*)::int FROM move_batches) AS batches,
              (SELECT count(*)::int FROM audit_log) AS audit, (SELECT version::int FROM config_version) AS version,
              (SELECT count(*)::int FROM placements) AS placements`,
    ),
    ranges: (await f.api.get('/v1/shard-map')).body.ranges,
  };
}

async function onTenant(clusterId: string, text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: tenants[clusterId] });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_MOVE_EXECUTOR: 'off' } });
  for (const id of ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d', 'tenant-x']) {
    tenants[id] = await freshTenantDatabase();
    const res = await f.api.post('/v1/clusters', { id, primary: { url: tenants[id] } });
    expect(res.status, res.text).toBe(201);
  }
  // tenant-a serves two ranges with tenant-b's between them; tenant-c serves none;
  // tenant-x serves one range but holds no orgs.
  const map = await f.api.put('/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999, clusterId: 'tenant-a' },
      { lo: 1000, hi: 1999, clusterId: 'tenant-b' },
      { lo: 2000, hi: 2999, clusterId: 'tenant-x' },
      { lo: 3000, hi: ORG_ID_MAX, clusterId: 'tenant-a' },
    ],
  });
  expect(map.status, map.text).toBe(200);
  // tenant-a: orgs 1..20 (20 and 19 with 50 properties each) and 3001..3010, one row each;
  // 3010 is pinned (to tenant-a itself), so it counts for nothing and is left alone.
  await seedOrgs(tenants['tenant-a']!, [...Array.from({ length: 20 }, (_, i) => i + 1), ...Array.from({ length: 10 }, (_, i) => 3001 + i)]);
  await onTenant(
    'tenant-a',
    "INSERT INTO properties (org_id, property_id, name) SELECT o, p, 'p' FROM unnest(ARRAY[19, 20]) o, generate_series(1, 50) p",
  );
  await seedOrgs(tenants['tenant-b']!, [1001, 1002]);
  expect((await f.api.put('/v1/placements/3010', { clusterId: 'tenant-a' })).status).toBe(200);
  const draining = await f.api.patch('/v1/clusters/tenant-d', { state: 'draining' });
  expect(draining.status, draining.text).toBe(200);
});
afterAll(async () => {
  await f?.close();
});

const rebalance = (body: Json) => f.api.post('/v1/shard-map/rebalance', body);

describe('the plan', () => {
  it('by orgs: 20 % of the 29 unpinned orgs is 6, the top of the highest range, split at 3004', async () => {
    const before = await state();
    const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 20, dryRun: true });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      plan: {
        from: 'tenant-a',
        to: 'tenant-b',
        by: 'orgs',
        percent: 20,
        sourceOrgs: 29,
        sourceRows: 129,
        orgs: 6,
        rows: 6,
        ranges: [{ lo: 3000, hi: ORG_ID_MAX, splitAt: 3004, orgs: 6, rows: 6 }],
        estimatedSeconds: expect.any(Number),
        copyRowsPerSecond: 100_000,
        rateBasis: 'default',
      },
    });
    expect(await state()).toEqual(before);
  });

  it('by orgs across ranges: 50 % (15) takes the top range whole and the top 6 of the next', async () => {
    const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 50, dryRun: true });
    expect(res.status, res.text).toBe(200);
    expect(res.body.plan).toMatchObject({ orgs: 15, rows: 6 + 9 + 100 });
    expect(res.body.plan.ranges).toEqual([
      { lo: 0, hi: 999, splitAt: 15, orgs: 6, rows: 106 },
      { lo: 3000, hi: ORG_ID_MAX, splitAt: null, orgs: 9, rows: 9 },
    ]);
  });

  it('by rows: 20 % of 129 rows (26) takes the top range whole (9) and org 20 alone (51 rows)', async () => {
    const before = await state();
    const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 20, by: 'rows', dryRun: true });
    expect(res.status, res.text).toBe(200);
    expect(res.body.plan).toMatchObject({ by: 'rows', sourceOrgs: 29, sourceRows: 129, orgs: 10, rows: 60 });
    expect(res.body.plan.ranges).toEqual([
      { lo: 0, hi: 999, splitAt: 20, orgs: 1, rows: 51 },
      { lo: 3000, hi: ORG_ID_MAX, splitAt: null, orgs: 9, rows: 9 },
    ]);
    expect(await state()).toEqual(before);
  });

  it('takes a fractional percent, rounding the share up', async () => {
    const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 0.5, dryRun: true });
    expect(res.status, res.text).toBe(200);
    expect(res.body.plan.ranges).toEqual([{ lo: 3000, hi: ORG_ID_MAX, splitAt: 3009, orgs: 1, rows: 1 }]);
  });
});

describe('bad input is refused by name and changes nothing', () => {
  it.each([
    ['percent 0', { from: 'tenant-a', to: 'tenant-b', percent: 0 }, 400, 'INVALID_INPUT'],
    ['percent 100', { from: 'tenant-a', to: 'tenant-b', percent: 100 }, 400, 'INVALID_INPUT'],
    ['a negative percent', { from: 'tenant-a', to: 'tenant-b', percent: -5 }, 400, 'INVALID_INPUT'],
    ['a percent as a string', { from: 'tenant-a', to: 'tenant-b', percent: '10' }, 400, 'INVALID_INPUT'],
    ['no percent', { from: 'tenant-a', to: 'tenant-b' }, 400, 'INVALID_INPUT'],
    ['an unknown by', { from: 'tenant-a', to: 'tenant-b', percent: 10, by: 'bytes' }, 400, 'INVALID_INPUT'],
    ['copyStreams 17', { from: 'tenant-a', to: 'tenant-b', percent: 10, copyStreams: 17 }, 400, 'INVALID_INPUT'],
    ['from equal to to', { from: 'tenant-a', to: 'tenant-a', percent: 10 }, 409, 'ALREADY_ON_CLUSTER'],
    ['an unknown source', { from: 'tenant-z', to: 'tenant-b', percent: 10 }, 404, 'CLUSTER_NOT_FOUND'],
    ['an unknown destination', { from: 'tenant-a', to: 'tenant-z', percent: 10 }, 404, 'CLUSTER_NOT_FOUND'],
    ['a draining destination', { from: 'tenant-a', to: 'tenant-d', percent: 10 }, 409, 'CLUSTER_NOT_ACCEPTING_ORGS'],
    ['a source that serves no range', { from: 'tenant-c', to: 'tenant-b', percent: 10 }, 422, 'CLUSTER_HAS_NO_ORGS'],
    ['a source whose ranges hold no org', { from: 'tenant-x', to: 'tenant-b', percent: 10 }, 422, 'CLUSTER_HAS_NO_ORGS'],
  ])('%s', async (_name, body, status, code) => {
    for (const dryRun of [false, true]) {
      const before = await state();
      const res = await rebalance({ ...body, dryRun });
      expect(res.status, res.text).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.hint ?? res.body.error.details).toBeDefined();
      expect(await state()).toEqual(before);
    }
  });

  it('a source that cannot be reached: CLUSTER_UNREACHABLE', async () => {
    const [{ primary_url: url }] = await f.sql('SELECT primary_url FROM clusters WHERE id = $1', ['tenant-x']);
    await f.sql('UPDATE clusters SET primary_url = $2 WHERE id = $1', ['tenant-x', 'postgres://nobody@127.0.0.1:1/none']);
    try {
      const before = await state();
      const res = await rebalance({ from: 'tenant-x', to: 'tenant-b', percent: 10 });
      expect(res.status, res.text).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'CLUSTER_UNREACHABLE', details: { clusterId: 'tenant-x' } });
      expect(await state()).toEqual(before);
    } finally {
      await f.sql('UPDATE clusters SET primary_url = $2 WHERE id = $1', ['tenant-x', url]);
    }
  });

  it('an org of the planned span moving on its own: RANGE_HAS_MOVING_ORGS before any split', async () => {
    const orgMove = await f.api.post('/v1/moves', { orgIds: [16], to: 'tenant-b' });
    expect(orgMove.status, orgMove.text).toBe(202);
    try {
      const before = await state();
      // 50 % takes [15, 999]: org 16 is in it.
      const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 50 });
      expect(res.status, res.text).toBe(409);
      expect(res.body.error).toMatchObject({
        code: 'RANGE_HAS_MOVING_ORGS',
        details: { lo: 15, hi: 999, moveIds: [orgMove.body.moves[0].id] },
      });
      expect(await state()).toEqual(before);
    } finally {
      // The executor is off: finish the org move by hand so the span is free again.
      await f.sql(`UPDATE moves SET state = 'aborted' WHERE batch_id = $1`, [orgMove.body.batch.id]);
    }
  });

  it('a rollout-scoped token: 403', async () => {
    const before = await state();
    const res = await f.api.as(f.tokens.rollout).post('/v1/shard-map/rebalance', { from: 'tenant-a', to: 'tenant-b', percent: 10 });
    expect(res.status).toBe(403);
    expect(await state()).toEqual(before);
  });
});

describe('POST /v1/moves {range} refuses spans a range move cannot take', () => {
  it.each([
    ['a span that does not start a range', { range: { lo: 5, hi: 999 }, to: 'tenant-b' }, 422, 'RANGE_NOT_ALIGNED'],
    ['a span that does not end a range', { range: { lo: 0, hi: 500 }, to: 'tenant-b' }, 422, 'RANGE_NOT_ALIGNED'],
    ['a span over two clusters', { range: { lo: 0, hi: 1999 }, to: 'tenant-c' }, 422, 'RANGE_SPANS_CLUSTERS'],
    ['the source as destination', { range: { lo: 0, hi: 999 }, to: 'tenant-a' }, 409, 'ALREADY_ON_CLUSTER'],
    ['an inverted span', { range: { lo: 999, hi: 0 }, to: 'tenant-b' }, 400, 'INVALID_INPUT'],
    ['a from that does not serve it', { range: { lo: 0, hi: 999 }, from: 'tenant-b', to: 'tenant-c' }, 400, 'INVALID_INPUT'],
    ['copyStreams 0', { range: { lo: 0, hi: 999 }, to: 'tenant-b', copyStreams: 0 }, 400, 'INVALID_INPUT'],
    ['readFrom elsewhere', { range: { lo: 0, hi: 999 }, to: 'tenant-b', readFrom: 'standby' }, 400, 'INVALID_INPUT'],
  ])('%s', async (_name, body, status, code) => {
    const before = await state();
    const res = await f.api.post('/v1/moves', body);
    expect(res.status, res.text).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(await state()).toEqual(before);
  });

  it('names the split that would align it', async () => {
    const res = await f.api.post('/v1/moves', { range: { lo: 5, hi: 999 }, to: 'tenant-b' });
    expect(res.body.error.hint).toContain('orgplane shards split --at 5');
  });
});

describe('a rebalance whose moves are refused after its split', () => {
  it('keeps the split (both halves on the source), creates no move, and says so in the hint', async () => {
    // Another range move over the span committed between the split and the creation: the
    // exclusion constraint's violation, injected on the control DB.
    await f.sql(`CREATE FUNCTION test_race() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN RAISE EXCEPTION 'raced' USING ERRCODE = '23P01'; END $$`);
    await f.sql(
      'CREATE TRIGGER test_race BEFORE INSERT ON moves FOR EACH ROW WHEN (NEW.range_lo IS NOT NULL) EXECUTE FUNCTION test_race()',
    );
    try {
      const before = await state();
      // By rows, 20 %: [20, 999] and [3000, max], split at 20.
      const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 20, by: 'rows' });
      expect(res.status, res.text).toBe(409);
      expect(res.body.error.code).toBe('RANGE_ALREADY_MOVING');
      expect(res.body.error.hint).toContain("the split at 20 was made and stays (both halves are on 'tenant-a')");
      const after = await state();
      expect(after.counts[0]).toEqual({ ...before.counts[0], version: before.counts[0].version + 1, audit: before.counts[0].audit + 1 });
      expect(after.ranges.slice(0, 2)).toEqual([
        { lo: 0, hi: 19, clusterId: 'tenant-a' },
        { lo: 20, hi: 999, clusterId: 'tenant-a' },
      ]);
    } finally {
      await f.sql('DROP TRIGGER test_race ON moves');
      await f.sql('DROP FUNCTION test_race()');
    }
  });
});

describe('a real rebalance', () => {
  let moveId: string;

  it('splits the map at the planned point and starts one range move of [splitAt, hi]', async () => {
    const before = await state();
    const res = await rebalance({
      from: 'tenant-a',
      to: 'tenant-b',
      percent: 20,
      copyStreams: 2,
      readFrom: 'primary',
      reason: 'new cluster',
    });
    expect(res.status, res.text).toBe(202);
    expect(res.body.plan.ranges).toEqual([{ lo: 3000, hi: ORG_ID_MAX, splitAt: 3004, orgs: 6, rows: 6 }]);
    expect(res.body.moves).toHaveLength(1);
    expect(res.body.moves[0]).toMatchObject({
      kind: 'range',
      orgId: null,
      range: { lo: 3004, hi: ORG_ID_MAX },
      pinnedOrgs: 1,
      copyStreams: 2,
      readFrom: 'primary',
      from: 'tenant-a',
      to: 'tenant-b',
      state: 'pending',
    });
    expect(res.body.batch).toMatchObject({ from: 'tenant-a', to: 'tenant-b', total: 1 });
    moveId = res.body.moves[0].id;
    const after = await state();
    // One config change (the split), its audit row and the move's.
    expect(after.counts[0]).toEqual({
      ...before.counts[0],
      version: before.counts[0].version + 1,
      moves: before.counts[0].moves + 1,
      batches: before.counts[0].batches + 1,
      audit: before.counts[0].audit + 2,
    });
    expect(after.ranges).toEqual([
      { lo: 0, hi: 19, clusterId: 'tenant-a' },
      { lo: 20, hi: 999, clusterId: 'tenant-a' },
      { lo: 1000, hi: 1999, clusterId: 'tenant-b' },
      { lo: 2000, hi: 2999, clusterId: 'tenant-x' },
      { lo: 3000, hi: 3003, clusterId: 'tenant-a' },
      { lo: 3004, hi: ORG_ID_MAX, clusterId: 'tenant-a' },
    ]);
    const [split] = (await f.api.get('/v1/audit?action=shard-map.split&limit=1')).body.entries;
    expect(split.reason).toContain('new cluster');
  });

  it('refuses a second rebalance of the source while its range moves: RANGE_ALREADY_MOVING', async () => {
    const before = await state();
    const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 10, dryRun: true });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'RANGE_ALREADY_MOVING', details: { moveId } });
    expect(await state()).toEqual(before);
  });

  it('refuses an overlapping range move, and the same span again: RANGE_ALREADY_MOVING', async () => {
    for (const range of [
      { lo: 3004, hi: ORG_ID_MAX },
      { lo: 3000, hi: ORG_ID_MAX },
    ]) {
      const before = await state();
      const res = await f.api.post('/v1/moves', { range, to: 'tenant-c' });
      expect(res.status, res.text).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'RANGE_ALREADY_MOVING', details: { moveId } });
      expect(await state()).toEqual(before);
    }
  });

  it('refuses a pin, a split and an org move inside the moving span: RANGE_MOVING', async () => {
    const attempts: [string, () => Promise<Json>][] = [
      ['pin', () => f.api.put('/v1/placements/3005', { clusterId: 'tenant-a' })],
      ['unpin', () => f.api.delete('/v1/placements/3010')],
      ['split', () => f.api.post('/v1/shard-map/split', { at: 5000 })],
      ['org move', () => f.api.post('/v1/moves', { orgIds: [3005], to: 'tenant-b' })],
    ];
    for (const [what, attempt] of attempts) {
      const before = await state();
      const res = await attempt();
      expect(res.status, `${what}: ${res.text}`).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'RANGE_MOVING', details: { moveId } });
      expect(await state()).toEqual(before);
    }
    // Outside the span the map still changes.
    expect((await f.api.post('/v1/shard-map/split', { at: 500 })).status).toBe(200);
  });

  it('plans with the measured copy rate of the newest range move that flipped', async () => {
    // Stand in for the executor: the move copied 10,000 rows in 4 s and flipped.
    await f.sql(`UPDATE move_events SET at = '2026-01-01T00:00:00Z' WHERE move_id = $1`, [moveId]);
    await f.sql(`INSERT INTO move_events (move_id, state, message, at) VALUES ($1, 'copying', 'copying', '2026-01-01T00:00:10Z')`, [
      moveId,
    ]);
    await f.sql(
      `INSERT INTO move_tables (move_id, table_name, position, rows_copied, bytes_copied, copied_at)
       VALUES ($1, 'organizations', 1, 4000, 1, '2026-01-01T00:00:12Z'), ($1, 'properties', 2, 6000, 1, '2026-01-01T00:00:14Z')`,
      [moveId],
    );
    await f.sql(`UPDATE moves SET state = 'completed', flipped_at = now(), completed_at = now() WHERE id = $1`, [moveId]);
    const res = await rebalance({ from: 'tenant-a', to: 'tenant-b', percent: 50, by: 'rows', dryRun: true });
    expect(res.status, res.text).toBe(200);
    expect(res.body.plan).toMatchObject({ copyRowsPerSecond: 2500, rateBasis: 'measured' });
    expect(res.body.plan.estimatedSeconds).toBe(Math.round((res.body.plan.rows / 2500) * 10) / 10);
  });
});
