// The tenant side of org moves against real Postgres: two tenant databases on the test
// server stand in for the source and target clusters. Each test moves its own org, so
// they share the two databases; other orgs on both sides must stay untouched.

import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ANALYZE_MIN_ROWS } from '../../src/features/moves/tenant/copyScopeTable.js';
import { orgScope } from '../../src/features/moves/tenant/MoveScope.js';
import { createTenantMover } from '../../src/features/moves/tenant/PgTenantMover.js';
import type { CutoverHooks, TableVerification, TenantMover } from '../../src/features/moves/tenant/TenantMover.js';
import { createLogger } from '../../src/logger.js';
import { LogCapture, waitFor } from '../helpers.js';
import { diffOrg, MoveWorkload, orgCounts, orgRows, seedOrg } from './workload.js';

let sourceUrl: string;
let targetUrl: string;
let src: pg.Pool;
let tgt: pg.Pool;
const log = new LogCapture();
const movers: TenantMover[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  const adminUrl = inject('pgAdminUrl');
  [sourceUrl, targetUrl] = [await createTestDatabase(adminUrl, 'tenant'), await createTestDatabase(adminUrl, 'tenant')];
  src = new pg.Pool({ connectionString: sourceUrl, max: 12 });
  tgt = new pg.Pool({ connectionString: targetUrl, max: 12 });
  // Bystanders on both sides.
  await seedOrg(src, 900);
  await seedOrg(tgt, 901);
});
afterAll(async () => {
  for (const m of movers) await m.close();
  await src?.end();
  await tgt?.end();
});

function mover(orgId: number, fenceDeadlineMs = 3000): TenantMover {
  const m = createTenantMover({
    moveId: `mv_test_${orgId}`,
    scope: orgScope(orgId),
    sourceUrl,
    targetUrl,
    fenceDeadlineMs,
    log: createLogger({ logLevel: 'info' }, log),
  });
  movers.push(m);
  return m;
}

interface Recorder {
  calls: string[];
  /** What flip() was handed: the comparison made right before the fence. */
  verified: TableVerification[] | undefined;
  hooks: CutoverHooks;
}

function recorder(on: { fenced?: () => Promise<void>; flip?: () => void | Promise<void> } = {}): Recorder {
  const calls: string[] = [];
  const rec: Recorder = {
    calls,
    verified: undefined,
    hooks: {
      async fenced() {
        calls.push('fenced');
        await on.fenced?.();
      },
      async flip(verified) {
        calls.push('flip');
        rec.verified = verified;
        await on.flip?.();
      },
      async released(reason) {
        calls.push(`released: ${reason}`);
      },
    },
  };
  return rec;
}

async function copyAll(m: TenantMover): Promise<void> {
  for (const table of await m.tables()) await m.copyTable(table, () => {});
}

async function marker(pool: pg.Pool, orgId: number): Promise<string | null> {
  const { rows } = await pool.query('SELECT state FROM orgplane_org_moves WHERE org_id = $1', [orgId]);
  return rows[0]?.state ?? null;
}

async function logged(pool: pg.Pool, orgId: number): Promise<number> {
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM orgplane_changes WHERE org_id = $1', [orgId]);
  return rows[0].n;
}

const bystanders = async () => ({ source: await orgRows(src, 900), target: await orgRows(tgt, 901) });

describe('tenant tables', () => {
  it('lists every tenant table with an org_id, parents before children, revenues as one partitioned table', async () => {
    const tables = await mover(1).tables();
    const names = tables.map((t) => t.name);
    expect(names.sort()).toEqual(['expenses', 'guests', 'organizations', 'properties', 'revenues', 'staff', 'users']);
    const ordered = (await mover(1).tables()).map((t) => t.name);
    for (const t of tables) for (const parent of t.references) expect(ordered.indexOf(parent)).toBeLessThan(ordered.indexOf(t.name));
    expect(tables.find((t) => t.name === 'revenues')).toMatchObject({
      partitioned: true,
      primaryKey: ['org_id', 'revenue_id', 'booked_on'],
    });
    expect(tables.find((t) => t.name === 'staff')?.references).toEqual(['properties', 'users']);
  });

  it('reports no replica lag when the source has no replicas', async () => {
    expect(await mover(1).replicaLagBytes()).toBe(0);
  });

  it('refuses a target whose tenant tables differ from the source', async () => {
    const other = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    const db = new pg.Client({ connectionString: other });
    await db.connect();
    await db.query('ALTER TABLE guests ADD COLUMN nickname TEXT');
    await db.end();
    const m = createTenantMover({
      moveId: 'mv_schema',
      scope: orgScope(1),
      sourceUrl,
      targetUrl: other,
      fenceDeadlineMs: 1000,
      log: createLogger({ logLevel: 'warn' }, log),
    });
    movers.push(m);
    await expect(m.tables()).rejects.toMatchObject({ code: 'TENANT_SCHEMA', details: { table: 'guests' } });
    await expect(m.startCapture()).rejects.toMatchObject({ code: 'TENANT_SCHEMA' });
    expect(await marker(src, 1)).toBeNull();
  });
});

describe('capture', () => {
  it('waits for transactions older than the capture, so the copy holds their writes', async () => {
    const orgId = 120;
    await seedOrg(src, orgId);
    const older = new pg.Client({ connectionString: sourceUrl });
    await older.connect();
    try {
      await older.query('BEGIN');
      // No marker yet: this write is not logged, so the copy must see it committed.
      await older.query(`UPDATE guests SET full_name = 'older' WHERE org_id = ${orgId} AND guest_id = 1`);
      const m = mover(orgId);
      let captured = false;
      const capture = m.startCapture().then(() => {
        captured = true;
      });
      await sleep(300);
      expect(captured).toBe(false);
      await older.query('COMMIT');
      await capture;
      await copyAll(m);
      expect((await orgRows(tgt, orgId)).guests?.some((r) => r.includes('older'))).toBe(true);
      expect((await m.verify()).ok).toBe(true);
      await m.abort();
    } finally {
      await older.end();
    }
  });

  it('fails with CAPTURE_WAIT_TIMEOUT while an older transaction stays open', async () => {
    const orgId = 121;
    await seedOrg(src, orgId);
    const older = new pg.Client({ connectionString: sourceUrl });
    await older.connect();
    try {
      await older.query('BEGIN');
      await older.query(`UPDATE guests SET full_name = 'open' WHERE org_id = 900 AND guest_id = 1`);
      const { rows } = await older.query('SELECT pg_backend_pid() AS pid');
      const m = createTenantMover({
        moveId: 'mv_wait',
        scope: orgScope(orgId),
        sourceUrl,
        targetUrl,
        fenceDeadlineMs: 1000,
        captureWaitMs: 300,
        log: createLogger({ logLevel: 'warn' }, log),
      });
      movers.push(m);
      await expect(m.startCapture()).rejects.toMatchObject({ code: 'CAPTURE_WAIT_TIMEOUT', details: { pids: [rows[0].pid] } });
      await m.abort();
      expect(await marker(src, orgId)).toBeNull();
    } finally {
      await older.query('ROLLBACK');
      await older.end();
    }
  });

  it('refuses to copy before the capture, or a table that is not a tenant table, and writes nothing', async () => {
    const orgId = 122;
    await seedOrg(src, orgId);
    const m = mover(orgId);
    const [first] = await m.tables();
    await expect(m.copyTable(first as never, () => {})).rejects.toMatchObject({ code: 'TENANT_MOVE_STATE' });
    await expect(
      m.copyTable({ name: 'orgplane_changes', primaryKey: ['id'], references: [], partitioned: false }, () => {}),
    ).rejects.toMatchObject({
      code: 'TENANT_MOVE_STATE',
    });
    await expect(m.catchUp()).rejects.toMatchObject({ code: 'TENANT_MOVE_STATE' });
    expect(Object.values(await orgCounts(tgt, orgId)).every((n) => n === 0)).toBe(true);
    expect(() =>
      createTenantMover({
        moveId: 'x',
        scope: orgScope(-1),
        sourceUrl,
        targetUrl,
        fenceDeadlineMs: 1000,
        log: createLogger({ logLevel: 'warn' }, log),
      }),
    ).toThrow();
  });
});

describe('a full move under a running writer workload', () => {
  const orgId = 101;
  it('loses and duplicates no acknowledged write, and leaves other orgs alone', async () => {
    await seedOrg(src, orgId, { rows: 300 });
    const before = await bystanders();
    let owner = src;
    const load = new MoveWorkload({ orgId, owner: () => owner, writers: 4 });
    load.start();
    const m = mover(orgId);
    await m.startCapture();
    expect(await marker(src, orgId)).toBe('capturing');
    expect(await marker(tgt, orgId)).toBe('moved');
    const progress: number[] = [];
    let copied = 0;
    for (const table of await m.tables()) {
      const result = await m.copyTable(table, (p) => progress.push(p.bytes));
      expect(result.table).toBe(table.name);
      copied += result.rows;
      await sleep(30);
    }
    expect(copied).toBeGreaterThan(1200);
    expect(progress.length).toBeGreaterThan(0);
    await sleep(200);
    const caught = await m.catchUp();
    expect(caught.applied).toBeGreaterThan(0);
    const verified = await m.verify();
    expect(verified.ok).toBe(true);
    expect(verified.tables.map((t) => t.table).sort()).toEqual([
      'expenses',
      'guests',
      'organizations',
      'properties',
      'revenues',
      'staff',
      'users',
    ]);
    for (const t of verified.tables) expect(t.sourceChecksum).toBe(t.targetChecksum);
    await sleep(200);
    let diffAtFlip: string[] = ['not flipped'];
    const rec = recorder({
      async flip() {
        // Both sides are fenced here: nobody can write the org anywhere.
        diffAtFlip = await diffOrg(src, tgt, orgId);
        owner = tgt;
      },
    });
    const result = await m.cutover(rec.hooks);
    expect(result).toMatchObject({ outcome: 'flipped' });
    expect(rec.calls).toEqual(['fenced', 'flip']);
    expect(rec.verified?.map((t) => t.table).sort()).toEqual(verified.tables.map((t) => t.table).sort());
    for (const t of rec.verified ?? []) expect(t.targetChecksum, t.table).toBe(t.sourceChecksum);
    expect(diffAtFlip).toEqual([]);
    expect(await marker(src, orgId)).toBe('moved');
    expect(await marker(tgt, orgId)).toBe('capturing');
    await sleep(200);
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.acknowledged).toBeGreaterThan(50);
    expect(await load.check(tgt)).toEqual([]);
    expect(await logged(tgt, orgId)).toBeGreaterThan(0);

    const { deletedRows } = await m.complete();
    expect(deletedRows).toBeGreaterThan(1200);
    expect(Object.values(await orgCounts(src, orgId)).every((n) => n === 0)).toBe(true);
    expect(await marker(src, orgId)).toBe('moved');
    expect(await marker(tgt, orgId)).toBeNull();
    expect(await logged(src, orgId)).toBe(0);
    expect(await logged(tgt, orgId)).toBe(0);
    expect(await load.check(tgt)).toEqual([]);
    expect(await bystanders()).toEqual(before);
    expect(log.text).not.toContain(new URL(sourceUrl).password);
  });
});

describe('stale writers and writers during the fence', () => {
  it('complete keeps the source rows while a transaction that checked ownership before the flip is open; the tombstone outlives it', async () => {
    const orgId = 130;
    await seedOrg(src, orgId);
    // The target gave away a range holding the org: after complete it must still serve it.
    await tgt.query("SELECT orgplane_mark_range_moved($1, $1, 'test', '{}')", [orgId]);
    const m = createTenantMover({
      moveId: 'mv_complete_wait',
      scope: orgScope(orgId),
      sourceUrl,
      targetUrl,
      fenceDeadlineMs: 3000,
      captureWaitMs: 300,
      log: createLogger({ logLevel: 'warn' }, log),
    });
    movers.push(m);
    await m.startCapture();
    await copyAll(m);
    const rowsBefore = await orgRows(src, orgId);
    const older = new pg.Client({ connectionString: sourceUrl });
    await older.connect();
    try {
      // A reader that checked ownership before the flip, idle in its transaction.
      await older.query(`BEGIN; SELECT orgplane_claim_org(${orgId})`);
      const guests = async () => Number((await older.query('SELECT count(*) AS n FROM guests WHERE org_id = $1', [orgId])).rows[0].n);
      const seenBefore = await guests();
      expect((await m.cutover(recorder().hooks)).outcome).toBe('flipped');
      // It reads the source as the flip left it...
      expect(await guests()).toBe(seenBefore);
      // ...and complete does not pull the rows from under it.
      const { rows } = await older.query('SELECT pg_backend_pid() AS pid');
      await expect(m.complete()).rejects.toMatchObject({ code: 'CAPTURE_WAIT_TIMEOUT', details: { pids: [rows[0].pid] } });
      expect(await orgRows(src, orgId)).toEqual(rowsBefore);
      await older.query('COMMIT');
    } finally {
      await older.end();
    }
    const { deletedRows } = await m.complete();
    expect(deletedRows).toBeGreaterThan(0);
    expect(await marker(src, orgId)).toBe('moved');
    await expect(src.query('SELECT orgplane_claim_org($1)', [orgId])).rejects.toMatchObject({ code: 'OPF02' });
    expect(await marker(tgt, orgId)).toBe('owned');
    await tgt.query('SELECT orgplane_claim_org($1)', [orgId]);
    await tgt.query('SELECT orgplane_clear_range_markers($1, $1)', [orgId]);
  });

  it('refuses a stale writer on the source after the flip with OPF02 and changes nothing there', async () => {
    const orgId = 102;
    await seedOrg(src, orgId);
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    expect((await m.cutover(recorder().hooks)).outcome).toBe('flipped');
    const rowsBefore = await orgRows(src, orgId);
    const attempts = [
      `INSERT INTO guests (org_id, guest_id, property_id, full_name) VALUES (${orgId}, 5000, 1, 'stale')`,
      `UPDATE guests SET full_name = 'stale' WHERE org_id = ${orgId} AND guest_id = 1`,
      `DELETE FROM expenses WHERE org_id = ${orgId} AND expense_id = 2`,
      `UPDATE organizations SET plan = 'stale' WHERE org_id = ${orgId}`,
    ];
    for (const sql of attempts) await expect(src.query(sql), sql).rejects.toMatchObject({ code: 'OPF02' });
    expect(await orgRows(src, orgId)).toEqual(rowsBefore);
    expect(await logged(src, orgId)).toBe(0);
    // The same writes on the target go ahead and are logged for a rollback.
    await tgt.query(`UPDATE guests SET full_name = 'fresh' WHERE org_id = ${orgId} AND guest_id = 1`);
    expect(await logged(tgt, orgId)).toBe(1);
  });

  it('fails a REPEATABLE READ writer whose snapshot predates the flip instead of losing its write', async () => {
    const orgId = 123;
    await seedOrg(src, orgId);
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    const writer = new pg.Client({ connectionString: sourceUrl });
    await writer.connect();
    try {
      await writer.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await writer.query('SELECT 1 FROM organizations LIMIT 1');
      expect((await m.cutover(recorder().hooks)).outcome).toBe('flipped');
      // Its snapshot still shows the org 'capturing' on the source.
      await expect(writer.query(`UPDATE guests SET full_name = 'late' WHERE org_id = ${orgId} AND guest_id = 1`)).rejects.toMatchObject({
        code: '40001',
      });
      await writer.query('ROLLBACK');
      expect((await orgRows(src, orgId)).guests?.some((r) => r.includes('late'))).toBe(false);
    } finally {
      await writer.end();
    }
  });

  it('holds writers during the fence, then lets them through to the new owner without errors', async () => {
    const orgId = 103;
    await seedOrg(src, orgId);
    let owner = src;
    const load = new MoveWorkload({ orgId, owner: () => owner, writers: 4, pauseMs: 1 });
    load.start();
    const m = mover(orgId, 5000);
    await m.startCapture();
    await copyAll(m);
    let waiting = 0;
    const rec = recorder({
      async fenced() {
        // Writers pile up behind the fence's lock.
        await waitFor('a writer waiting on the fence', async () => {
          const { rows } = await src.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
          );
          waiting = Math.max(waiting, rows[0].n);
          return waiting > 0;
        });
        await sleep(100);
      },
      flip: () => {
        owner = tgt;
      },
    });
    const result = await m.cutover(rec.hooks);
    expect(result.outcome).toBe('flipped');
    expect(waiting).toBeGreaterThan(0);
    await sleep(100);
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.fencedRetries).toBe(0);
    expect(stats.movedRetries).toBeGreaterThan(0);
    expect(await load.check(tgt)).toEqual([]);
  });
});

describe('the fence deadline', () => {
  it('gives up when a writer holds the fence past the deadline, then a later cutover succeeds', async () => {
    const orgId = 104;
    await seedOrg(src, orgId);
    const m = mover(orgId, 300);
    await m.startCapture();
    await copyAll(m);
    const blocker = new pg.Client({ connectionString: sourceUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`UPDATE guests SET full_name = 'slow' WHERE org_id = ${orgId} AND guest_id = 1`);
      const rec = recorder();
      const result = await m.cutover(rec.hooks);
      expect(result).toMatchObject({ outcome: 'deadline', step: 'lock' });
      expect(rec.calls).toEqual([]);
      expect(await marker(src, orgId)).toBe('capturing');
      // Writes flow again (another session; the blocker is still open).
      await src.query(`UPDATE guests SET full_name = 'flows' WHERE org_id = ${orgId} AND guest_id = 2`);
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
    }
    const rec = recorder();
    expect((await m.cutover(rec.hooks)).outcome).toBe('flipped');
    expect(await diffOrg(src, tgt, orgId)).toEqual([]);
    expect((await orgRows(tgt, orgId)).guests?.some((r) => r.includes('slow'))).toBe(true);
  });

  it('gives up when a later step passes the deadline: markers back, released called, writes flow', async () => {
    const orgId = 105;
    await seedOrg(src, orgId);
    const m = mover(orgId, 300);
    await m.startCapture();
    await copyAll(m);
    const rec = recorder({ fenced: async () => void (await sleep(400)) });
    const result = await m.cutover(rec.hooks);
    expect(result).toMatchObject({ outcome: 'deadline', step: 'drain' });
    expect(result.fenceMs).toBeGreaterThanOrEqual(300);
    expect(rec.calls).toEqual(['fenced', 'released: fence deadline']);
    expect(await marker(src, orgId)).toBe('capturing');
    expect(await marker(tgt, orgId)).toBe('moved');
    await src.query(`UPDATE guests SET full_name = 'after' WHERE org_id = ${orgId} AND guest_id = 3`);
    expect((await m.cutover(recorder().hooks)).outcome).toBe('flipped');
    expect(await diffOrg(src, tgt, orgId)).toEqual([]);
  });
});

describe('an interrupted copy', () => {
  it('reruns a table copy whose source session was terminated mid-stream', async () => {
    const orgId = 106;
    await seedOrg(src, orgId, { rows: 10 });
    await src.query(
      `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
       SELECT $1, 1000 + i, 1 + i % 5, i, repeat('x', 50), DATE '2025-01-01' FROM generate_series(1, 100000) i`,
      [orgId],
    );
    const m = mover(orgId);
    await m.startCapture();
    const expenses = (await m.tables()).find((t) => t.name === 'expenses');
    if (!expenses) throw new Error('no expenses table');
    let killed = false;
    const copy = m.copyTable(expenses, () => {});
    await waitFor('the copy to stream', async () => {
      const { rows } = await src.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'orgplane-mover' AND datname = current_database() AND query LIKE 'COPY%'`,
      );
      if (rows.length === 0) return false;
      const { rows: t } = await src.query('SELECT pg_terminate_backend($1) AS ok', [rows[0].pid]);
      killed = t[0].ok;
      return true;
    });
    expect(killed).toBe(true);
    await expect(copy).rejects.toThrow();
    // The target's half-copied rows were rolled back with its transaction.
    expect((await orgCounts(tgt, orgId)).expenses).toBe(0);
    const again = await m.copyTable(expenses, () => {});
    expect(again.rows).toBe(100010);
    for (const table of (await m.tables()).filter((t) => t.name !== 'expenses')) await m.copyTable(table, () => {});
    await m.copyTable(expenses, () => {});
    const verified = await m.verify();
    expect(verified.ok).toBe(true);
    expect(verified.tables.find((t) => t.table === 'expenses')).toMatchObject({ sourceRows: 100010, targetRows: 100010 });
    await m.abort();
  });
});

describe('copy sessions and statistics', () => {
  it('copies table after table in one target session, and in a new one once the server ended it', async () => {
    const orgId = 140;
    await seedOrg(src, orgId, { rows: 20 });
    const m = mover(orgId);
    await m.startCapture();
    const tables = (await m.tables()).map((t) => t.name);
    // Each COPY into the target notes the backend it ran in (the mover's replica-role
    // sessions fire only ALWAYS triggers).
    await tgt.query('CREATE TABLE test_copy_sessions (id SERIAL PRIMARY KEY, tbl TEXT NOT NULL, pid INT NOT NULL)');
    await tgt.query(`CREATE FUNCTION test_note_copy_session() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO test_copy_sessions (tbl, pid) VALUES (TG_TABLE_NAME, pg_backend_pid()); RETURN NULL; END $$`);
    for (const t of tables) {
      await tgt.query(`CREATE TRIGGER test_copy_session AFTER INSERT ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION test_note_copy_session()`);
      await tgt.query(`ALTER TABLE ${t} ENABLE ALWAYS TRIGGER test_copy_session`);
    }
    try {
      await copyAll(m);
      const sessions = async () =>
        (await tgt.query<{ tbl: string; pid: number }>('SELECT tbl, pid FROM test_copy_sessions ORDER BY id')).rows;
      const noted = await sessions();
      expect(noted.map((r) => r.tbl).sort()).toEqual([...tables].sort());
      expect(new Set(noted.map((r) => r.pid)).size).toBe(1);

      // A kept session the server ended (a restart, a terminate) is not handed out again.
      for (const pool of [src, tgt]) {
        await pool.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'orgplane-mover' AND datname = current_database()",
        );
      }
      await waitFor('the mover sessions to end', async () => {
        const { rows } = await tgt.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'orgplane-mover' AND datname = current_database()",
        );
        return rows[0].n === 0;
      });
      const first = (await m.tables())[0]!;
      expect((await m.copyTable(first, () => {})).rows).toBe(1);
      const after = (await sessions()).slice(noted.length);
      expect(after).toHaveLength(1);
      expect(after[0]!.pid).not.toBe(noted[0]!.pid);
      expect((await m.verify()).ok).toBe(true);
    } finally {
      for (const t of tables) await tgt.query(`DROP TRIGGER test_copy_session ON ${t}`);
      await tgt.query('DROP FUNCTION test_note_copy_session()');
      await tgt.query('DROP TABLE test_copy_sessions');
    }
    await m.abort();
  });

  it(`ANALYZEs a table after a copy of ${ANALYZE_MIN_ROWS} rows or more, and leaves a smaller one to autovacuum`, async () => {
    const orgId = 141;
    await seedOrg(src, orgId, { rows: 10 });
    await src.query(
      `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
       SELECT $1, 1000 + i, 1, i, 'bulk', DATE '2025-01-01' FROM generate_series(1, $2) i`,
      [orgId, ANALYZE_MIN_ROWS],
    );
    const analyzeCount = async (table: string): Promise<number> =>
      Number((await tgt.query('SELECT analyze_count AS n FROM pg_stat_user_tables WHERE relname = $1', [table])).rows[0].n);
    const before = { properties: await analyzeCount('properties'), expenses: await analyzeCount('expenses') };
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    // A session reports its statistics a moment after it goes idle (or ends); properties
    // (a few rows) were copied before expenses.
    await waitFor('the ANALYZE of expenses to be counted', async () => (await analyzeCount('expenses')) > before.expenses);
    expect(await analyzeCount('properties')).toBe(before.properties);
    expect((await m.verify()).ok).toBe(true);
    await m.abort();
  });
});

describe('rollback and abort', () => {
  it('rolls back after the flip: every write made on the target is carried back', async () => {
    const orgId = 107;
    await seedOrg(src, orgId);
    let owner = src;
    const load = new MoveWorkload({ orgId, owner: () => owner, writers: 3 });
    load.start();
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    expect((await m.cutover(recorder({ flip: () => void (owner = tgt) }).hooks)).outcome).toBe('flipped');
    await sleep(300);
    expect(await logged(tgt, orgId)).toBeGreaterThan(0);
    const rec = recorder({
      async flip() {
        owner = src;
      },
    });
    const result = await m.rollback(rec.hooks);
    expect(result.outcome).toBe('flipped');
    expect(rec.calls).toEqual(['fenced', 'flip']);
    await sleep(200);
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(await load.check(src)).toEqual([]);
    expect(await marker(src, orgId)).toBeNull();
    expect(await marker(tgt, orgId)).toBe('moved');
    expect(Object.values(await orgCounts(tgt, orgId)).every((n) => n === 0)).toBe(true);
    expect(await logged(tgt, orgId)).toBe(0);
    // The source serves the org again, without logging.
    await src.query(`UPDATE organizations SET plan = 'back' WHERE org_id = ${orgId}`);
    expect(await logged(src, orgId)).toBe(0);
    // And the target refuses it.
    await expect(tgt.query(`UPDATE organizations SET plan = 'x' WHERE org_id = ${orgId}`)).resolves.toMatchObject({ rowCount: 0 });
    await expect(tgt.query(`INSERT INTO organizations (org_id, name) VALUES (${orgId}, 'x')`)).rejects.toMatchObject({ code: 'OPF02' });
  });

  it('refuses to roll back a move that has not flipped, and to abort one that has', async () => {
    const orgId = 108;
    await seedOrg(src, orgId);
    const m = mover(orgId);
    await m.startCapture();
    await expect(m.rollback(recorder().hooks)).rejects.toMatchObject({ code: 'TENANT_MOVE_STATE' });
    await expect(m.complete()).rejects.toMatchObject({ code: 'TENANT_MOVE_STATE' });
    await copyAll(m);
    expect((await m.cutover(recorder().hooks)).outcome).toBe('flipped');
    await expect(m.abort()).rejects.toMatchObject({ code: 'TENANT_MOVE_STATE' });
    expect(await marker(src, orgId)).toBe('moved');
    await expect(m.startCapture()).rejects.toMatchObject({ code: 'TENANT_MOVE_STATE' });
  });

  it('aborts before the flip: the source is untouched and the target holds nothing of the org', async () => {
    const orgId = 109;
    await seedOrg(src, orgId);
    const load = new MoveWorkload({ orgId, owner: () => src, writers: 2 });
    load.start();
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    await sleep(100);
    await m.catchUp();
    await m.abort();
    await sleep(100);
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(await load.check(src)).toEqual([]);
    expect(Object.values(await orgCounts(tgt, orgId)).every((n) => n === 0)).toBe(true);
    expect(Object.values(await orgCounts(src, orgId)).every((n) => n > 0)).toBe(true);
    expect(await marker(src, orgId)).toBeNull();
    expect(await logged(src, orgId)).toBe(0);
    // Nothing is captured any more.
    await src.query(`UPDATE organizations SET plan = 'after abort' WHERE org_id = ${orgId}`);
    expect(await logged(src, orgId)).toBe(0);
  });
});

describe('partitioned tables and verification', () => {
  it('copies revenues through the parent into the same partitions', async () => {
    const orgId = 110;
    await seedOrg(src, orgId, { rows: 200 });
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    const partitions = async (pool: pg.Pool) =>
      (
        await pool.query(`SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM revenues WHERE org_id = $1 GROUP BY 1 ORDER BY 1`, [
          orgId,
        ])
      ).rows;
    const [s, t] = [await partitions(src), await partitions(tgt)];
    expect(s.length).toBeGreaterThan(3);
    expect(t).toEqual(s);
    expect((await m.verify()).ok).toBe(true);
    await m.abort();
  });

  it('finds a target row tampered with after verify, and flips nothing', async () => {
    const orgId = 111;
    await seedOrg(src, orgId);
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    expect((await m.verify()).ok).toBe(true);
    const tamper = new pg.Client({ connectionString: targetUrl, options: '-c session_replication_role=replica' });
    await tamper.connect();
    try {
      await tamper.query(`UPDATE guests SET full_name = 'tampered' WHERE org_id = ${orgId} AND guest_id = 4`);
      const rec = recorder();
      const result = await m.cutover(rec.hooks);
      expect(result.outcome).toBe('mismatch');
      if (result.outcome !== 'mismatch') return;
      expect(result.tables.find((t) => t.table === 'guests')).toMatchObject({ sourceRows: 50, targetRows: 50 });
      expect(result.tables.find((t) => t.table === 'guests')?.sourceChecksum).not.toBe(
        result.tables.find((t) => t.table === 'guests')?.targetChecksum,
      );
      expect(rec.calls).toEqual([]);
      expect(await marker(src, orgId)).toBe('capturing');
    } finally {
      await tamper.end();
    }
  });

  it('finds rows that do not land on the target as sent under the fence, and flips nothing', async () => {
    const orgId = 112;
    await seedOrg(src, orgId);
    const m = mover(orgId, 10_000);
    await m.startCapture();
    await copyAll(m);
    expect((await m.verify()).ok).toBe(true);
    // A trigger on the target that fires even for the mover's replica-role sessions:
    // what the drain under the fence writes is not what the source holds.
    await tgt.query(`CREATE FUNCTION tamper_guest() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.full_name := 'tampered'; RETURN NEW; END $$`);
    await tgt.query(
      `CREATE TRIGGER tamper_guest BEFORE INSERT ON guests FOR EACH ROW WHEN (NEW.org_id = ${orgId} AND NEW.guest_id = 5) EXECUTE FUNCTION tamper_guest()`,
    );
    await tgt.query('ALTER TABLE guests ENABLE ALWAYS TRIGGER tamper_guest');
    // A writer holds the fence, so its change reaches the target only in the drain.
    const writer = new pg.Client({ connectionString: sourceUrl });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(`UPDATE guests SET full_name = 'changed' WHERE org_id = ${orgId} AND guest_id = 5`);
      const rec = recorder();
      const cutover = m.cutover(rec.hooks);
      await waitFor('the mover to wait for the fence', async () => {
        const { rows } = await src.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'orgplane-mover' AND datname = current_database() AND wait_event = 'advisory'`,
        );
        return rows.length > 0;
      });
      await writer.query('COMMIT');
      const result = await cutover;
      expect(result.outcome).toBe('mismatch');
      expect(rec.calls).toEqual(['fenced', 'released: rows differ between the clusters']);
      expect(await marker(src, orgId)).toBe('capturing');
      expect(await marker(tgt, orgId)).toBe('moved');
      await src.query(`UPDATE guests SET full_name = 'writable' WHERE org_id = ${orgId} AND guest_id = 6`);
    } finally {
      await writer.end();
      await tgt.query('DROP TRIGGER tamper_guest ON guests');
    }
  });

  it('fails a catch-up whose rows do not land as sent, and keeps the changes logged', async () => {
    const orgId = 113;
    await seedOrg(src, orgId);
    const m = mover(orgId);
    await m.startCapture();
    await copyAll(m);
    await tgt.query(`CREATE OR REPLACE FUNCTION tamper_guest() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.full_name := 'tampered'; RETURN NEW; END $$`);
    await tgt.query(
      `CREATE TRIGGER tamper_guest_113 BEFORE INSERT OR UPDATE ON guests FOR EACH ROW WHEN (NEW.org_id = ${orgId}) EXECUTE FUNCTION tamper_guest()`,
    );
    await tgt.query('ALTER TABLE guests ENABLE ALWAYS TRIGGER tamper_guest_113');
    try {
      await src.query(`UPDATE guests SET full_name = 'changed' WHERE org_id = ${orgId} AND guest_id = 7`);
      await expect(m.catchUp()).rejects.toMatchObject({ code: 'MOVE_REPLAY_MISMATCH', details: { orgId, tables: [{ table: 'guests' }] } });
      expect(await logged(src, orgId)).toBe(1);
    } finally {
      await tgt.query('DROP TRIGGER tamper_guest_113 ON guests');
    }
    await m.catchUp();
    expect(await logged(src, orgId)).toBe(0);
    expect((await m.verify()).ok).toBe(true);
    await m.abort();
  });
});
