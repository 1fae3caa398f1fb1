// The ownership markers of migrations/tenant/1764300000000_ownership-markers.sql on a real
// tenant database: what orgplane_claim_org refuses (OPF02) and serves, how org markers win
// over range markers, and the functions the mover and the shard-map guards call.
import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { sqlState } from '../../src/db/Database.js';

let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase(inject('pgAdminUrl'), 'tenant'), max: 3 });
});

afterAll(async () => {
  await pool?.end();
});

beforeEach(async () => {
  await pool.query('TRUNCATE orgplane_org_moves, orgplane_range_markers, orgplane_changes');
  await pool.query('DELETE FROM organizations');
});

async function claim(orgId: number): Promise<string> {
  try {
    await pool.query('SELECT orgplane_claim_org($1)', [orgId]);
    return 'served';
  } catch (error) {
    return sqlState(error) ?? String(error);
  }
}

async function mark(orgId: number, state: string): Promise<void> {
  await pool.query("INSERT INTO orgplane_org_moves (org_id, state, move_id) VALUES ($1, $2, 'test')", [orgId, state]);
}

async function ranges(): Promise<[number, number][]> {
  const { rows } = await pool.query<{ lo: string; hi: string }>('SELECT lo, hi FROM orgplane_range_markers ORDER BY lo');
  return rows.map((r) => [Number(r.lo), Number(r.hi)]);
}

async function orgMarkers(): Promise<Record<number, string>> {
  const { rows } = await pool.query<{ org_id: string; state: string }>('SELECT org_id, state FROM orgplane_org_moves ORDER BY org_id');
  return Object.fromEntries(rows.map((r) => [Number(r.org_id), r.state]));
}

async function write(sql: string, values: unknown[]): Promise<string> {
  try {
    await pool.query(sql, values);
    return 'written';
  } catch (error) {
    return sqlState(error) ?? String(error);
  }
}

describe('orgplane_claim_org', () => {
  it('serves an org without markers, and by its org marker: refused only when moved', async () => {
    expect(await claim(1)).toBe('served');
    for (const [orgId, state] of [
      [2, 'capturing'],
      [3, 'fenced'],
      [4, 'owned'],
      [5, 'moved'],
    ] as const) {
      await mark(orgId, state);
    }
    expect([await claim(2), await claim(3), await claim(4), await claim(5)]).toEqual(['served', 'served', 'served', 'OPF02']);
  });

  it('refuses every org of a range marker, inclusive at both ends, and only those', async () => {
    await pool.query("SELECT orgplane_mark_range_moved(100, 199, 'shard-map:7', '{}')");
    expect([await claim(99), await claim(100), await claim(150), await claim(199), await claim(200)]).toEqual([
      'served',
      'OPF02',
      'OPF02',
      'OPF02',
      'served',
    ]);
  });

  it('an org marker wins over the range marker: owned is served, moved stays refused', async () => {
    await pool.query("SELECT orgplane_mark_range_moved(100, 199, 'shard-map:7', '{150, 250}')");
    // 150 is pinned here and kept; 250 is outside the range and gets no marker.
    expect(await orgMarkers()).toEqual({ 150: 'owned' });
    expect([await claim(150), await claim(151), await claim(250)]).toEqual(['served', 'OPF02', 'served']);
  });

  it('says the same on a read-only session, as on a replica', async () => {
    await mark(5, 'moved');
    const client = await pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      const error = await client.query('SELECT orgplane_claim_org(5)').catch((e: unknown) => e);
      expect(sqlState(error)).toBe('OPF02');
      expect((error as { hint?: string }).hint).toMatch(/refresh the shard map/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('the row trigger, for writers that bypass the runtime', () => {
  it('refuses inserts and updates of an org in a range marker, and writes of an owned org go ahead without logging', async () => {
    await write("INSERT INTO organizations (org_id, name) VALUES (150, 'before')", []);
    await pool.query("SELECT orgplane_mark_range_moved(100, 199, 'shard-map:7', '{}')");
    expect(await write("INSERT INTO organizations (org_id, name) VALUES (120, 'stale')", [])).toBe('OPF02');
    expect(await write("UPDATE organizations SET name = 'stale' WHERE org_id = 150", [])).toBe('OPF02');
    expect(await write("INSERT INTO organizations (org_id, name) VALUES (220, 'outside')", [])).toBe('written');

    await pool.query("SELECT orgplane_serve_org(150, 'pin')");
    expect(await write("UPDATE organizations SET name = 'owned' WHERE org_id = 150", [])).toBe('written');
    expect(Number((await pool.query('SELECT count(*) AS n FROM orgplane_changes')).rows[0].n)).toBe(0);
  });
});

describe('marker functions', () => {
  it('orgplane_clear_range_markers trims markers that reach past either end', async () => {
    await pool.query("SELECT orgplane_mark_range_moved(100, 199, 'a', '{}')");
    await pool.query("SELECT orgplane_mark_range_moved(300, 399, 'b', '{}')");
    await pool.query("SELECT orgplane_mark_range_moved(500, 599, 'c', '{}')");
    await pool.query('SELECT orgplane_clear_range_markers(150, 349)');
    expect(await ranges()).toEqual([
      [100, 149],
      [350, 399],
      [500, 599],
    ]);
    await pool.query('SELECT orgplane_clear_range_markers(520, 540)');
    expect(await ranges()).toEqual([
      [100, 149],
      [350, 399],
      [500, 519],
      [541, 599],
    ]);
    const error = await pool.query('SELECT orgplane_clear_range_markers(10, 5)').catch((e: unknown) => e);
    expect(sqlState(error)).toBe('22023');
  });

  it('orgplane_mark_range_moved replaces what it overlaps and leaves a move’s own marker alone', async () => {
    await pool.query("SELECT orgplane_mark_range_moved(100, 199, 'a', '{}')");
    await mark(160, 'capturing');
    await pool.query("SELECT orgplane_mark_range_moved(150, 249, 'b', '{160, 170}')");
    expect(await ranges()).toEqual([
      [100, 149],
      [150, 249],
    ]);
    expect(await orgMarkers()).toEqual({ 160: 'capturing', 170: 'owned' });
  });

  it('range markers never overlap', async () => {
    await pool.query("SELECT orgplane_mark_range_moved(100, 199, 'a', '{}')");
    const error = await pool
      .query("INSERT INTO orgplane_range_markers (lo, hi, state, reason) VALUES (150, 300, 'moved', 'x')")
      .catch((e: unknown) => e);
    expect(sqlState(error)).toBe('23P01');
  });

  it('orgplane_serve_org drops the marker, or keeps owned where a range marker covers the org', async () => {
    await mark(50, 'moved');
    await mark(150, 'moved');
    await pool.query("SELECT orgplane_mark_range_moved(100, 199, 'a', '{}')");
    await pool.query("SELECT orgplane_serve_org(50, 'back'), orgplane_serve_org(150, 'back')");
    expect(await orgMarkers()).toEqual({ 150: 'owned' });
    expect([await claim(50), await claim(150)]).toEqual(['served', 'served']);
  });

  it('orgplane_mark_org_moved tombstones an org, but not one a move is carrying', async () => {
    await mark(7, 'owned');
    await mark(8, 'fenced');
    await pool.query("SELECT orgplane_mark_org_moved(6, 'pin'), orgplane_mark_org_moved(7, 'pin'), orgplane_mark_org_moved(8, 'pin')");
    expect(await orgMarkers()).toEqual({ 6: 'moved', 7: 'moved', 8: 'fenced' });
  });
});
