// Org moves end to end against real Postgres: the control plane with its executor, two
// tenant databases registered as clusters, the real tenant mover, and a writer workload
// on every tenant table of the moving org, routed the way a runtime routes (by the map,
// asking again after OPF02). The mover is wrapped only to look at the data while the
// fence is held, just before the flip.

import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TenantMoverFactory } from '../../src/features/moves/Move.js';
import { createTenantMover } from '../../src/features/moves/tenant/PgTenantMover.js';
import type { TenantMover, TenantMoverOptions } from '../../src/features/moves/tenant/TenantMover.js';
import { type Fixture, type Json, ORG_ID_MAX, startFixture, waitFor } from '../helpers.js';
import { diffOrg, MoveWorkload, orgCounts, orgRows, seedOrg } from './workload.js';

const A = 'tenant-a';
const B = 'tenant-b';
let f: Fixture;
const pools: Record<string, pg.Pool> = {};
/** Per org: the differences between source and target seen under the fence, at the flip. */
const diffAtFlip = new Map<number, string[]>();
/** Movers open at once (the executor's), for the concurrency check. */
let open = 0;
let maxOpen = 0;
/** Replica lag every mover reports while set (bytes). */
let fakeLagBytes = 0;
/** Every row of the bystander orgs (900 on A, 901 on B) before any move. */
let bystandersBefore: Record<number, Record<string, string[]>>;
/**
 * Per org, once: kill the mover's tenant sessions just before the flip's control-DB
 * commit, or just after it, and fail the flip hook there, as a crash of the executor
 * would leave the tenant side (markers as they are, fences let go with the sessions).
 */
const crashAt = new Map<number, 'before-flip' | 'after-flip'>();

async function killMoverSessions(): Promise<void> {
  for (const pool of Object.values(pools)) {
    await pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'orgplane-mover' AND datname = current_database()",
    );
  }
}

/** The org an org move carries. */
function orgIdOf(options: TenantMoverOptions): number {
  if (options.scope.kind !== 'org') throw new Error('this test moves orgs');
  return options.scope.orgId;
}

/** The real mover, with a look at both sides just before the flip (the fence is held). */
const instrumented: TenantMoverFactory = (options: TenantMoverOptions) => {
  const real = createTenantMover(options);
  const counted = options.moveId.startsWith('mv_');
  if (counted) maxOpen = Math.max(maxOpen, ++open);
  let closed = false;
  const mover: TenantMover = {
    tables: () => real.tables(),
    estimateRows: () => real.estimateRows(),
    startCapture: () => real.startCapture(),
    copyTable: (table, onProgress) => real.copyTable(table, onProgress),
    catchUp: (max) => real.catchUp(max),
    verify: () => real.verify(),
    cutover: (hooks) =>
      real.cutover({
        ...hooks,
        async flip(verified) {
          const source = clusterOf(options.sourceUrl);
          const target = clusterOf(options.targetUrl);
          const orgId = orgIdOf(options);
          diffAtFlip.set(orgId, await diffOrg(pools[source]!, pools[target]!, orgId));
          const crash = crashAt.get(orgId);
          crashAt.delete(orgId);
          if (crash === 'before-flip') {
            await killMoverSessions();
            throw new Error('injected: the executor died before the flip committed');
          }
          await hooks.flip(verified);
          if (crash === 'after-flip') {
            await killMoverSessions();
            throw new Error('injected: the executor died after the flip committed');
          }
        },
      }),
    rollback: (hooks) => real.rollback(hooks),
    abort: () => real.abort(),
    complete: (onProgress) => real.complete(onProgress),
    replicaLagBytes: async () => Math.max(fakeLagBytes, await real.replicaLagBytes()),
    async close() {
      if (counted && !closed) open--;
      closed = true;
      await real.close();
    },
  };
  return mover;
};

const urls: Record<string, string> = {};
const clusterOf = (url: string) => Object.entries(urls).find(([, u]) => u === url)![0];

async function location(orgId: number): Promise<Json> {
  return (await f.api.get(`/v1/orgs/${orgId}/location`)).body;
}

/** The workload routes by the map, as a runtime does. */
function workload(orgId: number, writers = 3): MoveWorkload {
  return new MoveWorkload({ orgId, writers, pauseMs: 3, owner: async () => pools[(await location(orgId)).clusterId]! });
}

async function move(id: string): Promise<Json> {
  return (await f.api.get(`/v1/moves/${id}`)).body;
}

async function waitState(id: string, states: string[], limitMs = 45_000): Promise<Json> {
  let last: Json;
  try {
    await waitFor(
      `move ${id} to reach ${states.join('|')}`,
      async () => {
        last = await move(id);
        if (last.state === 'failed' && !states.includes('failed')) throw new Error(`move failed: ${last.error}`);
        return states.includes(last.state);
      },
      limitMs,
    );
  } catch (err) {
    const activity = await f.sql(
      "SELECT pid, datname, application_name, state, wait_event_type, wait_event, left(query, 160) AS q FROM pg_stat_activity WHERE state <> 'idle' AND backend_type = 'client backend'",
    );
    throw new Error(
      `${(err as Error).message}\nactivity: ${JSON.stringify(activity, null, 1)}; the move: ${JSON.stringify({ ...last, tables: undefined })}\nlog: ${f.log.lines
        .filter((l) => /move|warn|error/i.test(l) && !/"url":"\/v1/.test(l))
        .slice(-25)
        .join('\n')}`,
    );
  }
  return last;
}

async function createMove(body: Json): Promise<Json> {
  const res = await f.api.post('/v1/moves', body);
  expect(res.status, res.text).toBe(202);
  return res.body;
}

async function configVersion(): Promise<number> {
  return (await f.sql('SELECT version::int AS v FROM config_version'))[0].v;
}

beforeAll(async () => {
  f = await startFixture({
    env: { ORGPLANE_MOVE_POLL_MS: '50', ORGPLANE_MOVE_RETRY_BASE_MS: '200', ORGPLANE_LOG_LEVEL: 'info' },
    build: { createMover: instrumented },
  });
  for (const id of [A, B]) {
    urls[id] = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    pools[id] = new pg.Pool({ connectionString: urls[id], max: 16 });
    expect((await f.api.post('/v1/clusters', { id, primary: { url: urls[id] } })).status).toBe(201);
  }
  await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: A }] });
  // A bystander on each side that no move may touch.
  await seedOrg(pools[A]!, 900);
  await seedOrg(pools[B]!, 901);
  bystandersBefore = { 900: await orgRows(pools[A]!, 900), 901: await orgRows(pools[B]!, 901) };
});
afterAll(async () => {
  await f?.close();
  for (const pool of Object.values(pools)) await pool.end();
});

describe('one org moved while it writes', () => {
  const orgId = 101;
  let id: string;
  let load: MoveWorkload;

  it('copies, catches up, flips with source = target under the fence, and keeps every acknowledged write', async () => {
    await seedOrg(pools[A]!, orgId, { rows: 5000 });
    load = workload(orgId);
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const versionBefore = await configVersion();
    const created = await createMove({ orgIds: [orgId], to: B, graceSeconds: 3600, reason: 'e2e' });
    id = created.moves[0].id;
    const flipped = await waitState(id, ['flipped']);
    // Let the writers notice the flip and write on the target for a while.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(stats.acknowledged).toBeGreaterThan(50);
    expect(diffAtFlip.get(orgId)).toEqual([]);
    expect(await load.check(pools[B]!)).toEqual([]);

    expect(flipped).toMatchObject({ from: A, to: B, progress: { rowsCopied: expect.any(Number) } });
    expect(flipped.attempt).toBeGreaterThanOrEqual(1);
    expect(flipped.progress.rowsCopied).toBeGreaterThanOrEqual(4 * 5000);
    // The exact fence window is recorded just after the flip, never a provisional one with it.
    expect((await move(id)).progress.lastFenceMs).toBeGreaterThan(0);
    expect(flipped.tables.every((t: Json) => t.copiedAt !== null)).toBe(true);
    // The comparison made right before the fence is on record, per table, and equal.
    for (const t of flipped.tables) {
      expect(t.sourceChecksum, t.table).toEqual(expect.any(String));
      expect(t.targetChecksum, t.table).toBe(t.sourceChecksum);
      expect(t.targetRows, t.table).toBe(t.sourceRows);
    }
    expect(flipped.events.map((e: Json) => e.state)).toEqual(expect.arrayContaining(['preparing', 'copying', 'catching_up', 'flipped']));
    // Pinned to the target; fence, flip: each a config version with its audit row.
    expect(await location(orgId)).toMatchObject({ clusterId: B, source: 'placement', placement: { state: 'active' } });
    expect(await configVersion()).toBeGreaterThanOrEqual(versionBefore + 2);
    const actions = (await f.api.get('/v1/audit?limit=20')).body.entries.map((e: Json) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['move.create', 'move.fence', 'move.flip']));
  });

  it('refuses a write on the source from a writer holding a map from before the flip (OPF02)', async () => {
    const err = await pools[A]!.query("UPDATE organizations SET name = 'stale' WHERE org_id = $1", [orgId]).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe('OPF02');
    const other = await pools[A]!.query('UPDATE organizations SET name = name WHERE org_id = 900');
    expect(other.rowCount).toBe(1);
  });

  it('completes on request: the source keeps none of the org rows, the target all of them', async () => {
    const targetBefore = await orgCounts(pools[B]!, orgId);
    const res = await f.api.post(`/v1/moves/${id}/complete`, { reason: 'done' });
    expect(res.status, res.text).toBe(200);
    const done = await waitState(id, ['completed']);
    expect(done.completedAt).toBeDefined();
    expect(Object.values(await orgCounts(pools[A]!, orgId)).every((n) => n === 0)).toBe(true);
    expect(await orgCounts(pools[B]!, orgId)).toEqual(targetBefore);
    expect(await load.check(pools[B]!)).toEqual([]);
    // Bystanders untouched.
    expect((await orgCounts(pools[A]!, 900))['organizations']).toBe(1);
    expect((await orgCounts(pools[B]!, 901))['organizations']).toBe(1);
    const metrics = (await f.api.get('/metrics')).text;
    expect(metrics).toMatch(/orgplane_moves\{state="completed"\} [1-9]/);
    expect(metrics).toMatch(/orgplane_move_rows_copied_total [1-9]/);
    expect(metrics).toMatch(/orgplane_move_fence_window_seconds_count\{outcome="flipped"\} [1-9]/);
    expect(metrics).toContain('orgplane_move_catchup_pending_changes');
  });
});

describe('rollback after the flip', () => {
  it('routes the org back to the source with every write made on the target since the flip', async () => {
    const orgId = 102;
    await seedOrg(pools[A]!, orgId, { rows: 500 });
    const load = workload(orgId);
    load.start();
    const { moves } = await createMove({ orgIds: [orgId], to: B });
    await waitState(moves[0].id, ['flipped']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const res = await f.api.post(`/v1/moves/${moves[0].id}/rollback`, { reason: 'regression' });
    expect(res.status, res.text).toBe(200);
    const rolled = await waitState(moves[0].id, ['rolled_back']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(rolled.completedAt).toBeDefined();
    expect(await load.check(pools[A]!)).toEqual([]);
    // Range-routed before the move: no pin now.
    expect(await location(orgId)).toMatchObject({ clusterId: A, source: 'range', placement: null });
    const actions = (await f.api.get('/v1/audit?action=move.rollback&limit=5')).body.entries;
    expect(actions.some((e: Json) => e.version !== null)).toBe(true);
    // The org can move again.
    const again = await createMove({ orgIds: [orgId], to: B, graceSeconds: 0 });
    await waitState(again.moves[0].id, ['completed']);
    expect(await load.check(pools[B]!)).toEqual([]);
  }, 150_000);
});

describe('a fence that misses its deadline', () => {
  it('releases the fence, keeps writes on the old route, waits, and flips on a later attempt', async () => {
    const orgId = 103;
    await seedOrg(pools[A]!, orgId, { rows: 200 });
    // Held in the copy (capture already on) by a lagging replica until the blocker is in place.
    fakeLagBytes = 2 ** 40;
    const { moves } = await createMove({ orgIds: [orgId], to: B, fenceDeadlineMs: 200, graceSeconds: 0 });
    const id = moves[0].id;
    await waitState(id, ['copying']);
    // A transaction that wrote to the org and stays open: the fence cannot be taken.
    const blocker = new pg.Client({ connectionString: urls[A] });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query("UPDATE guests SET full_name = 'held' WHERE org_id = $1 AND guest_id = 1", [orgId]);
      fakeLagBytes = 0;
      const waiting = await waitState(id, ['waiting']);
      expect(waiting.error).toMatch(/deadline/);
      expect(waiting.nextAttemptAt).toBeDefined();
      // The fence is released: the map routes the org to the source, unfenced, and it takes writes.
      expect(await location(orgId)).toMatchObject({ clusterId: A, placement: null });
      const write = new pg.Client({ connectionString: urls[A] });
      await write.connect();
      await write.query("UPDATE guests SET full_name = 'still writable' WHERE org_id = $1 AND guest_id = 2", [orgId]);
      await write.end();
      await blocker.query('COMMIT');
    } finally {
      fakeLagBytes = 0;
      await blocker.end();
    }
    const done = await waitState(id, ['completed']);
    expect(done.attempt).toBeGreaterThanOrEqual(2);
    expect(done.events.some((e: Json) => /deadline/.test(e.message))).toBe(true);
    const rows = await pools[B]!.query('SELECT guest_id, full_name FROM guests WHERE org_id = $1 AND guest_id IN (1, 2) ORDER BY 1', [
      orgId,
    ]);
    expect(rows.rows).toEqual([
      { guest_id: '1', full_name: 'held' },
      { guest_id: '2', full_name: 'still writable' },
    ]);
    const metrics = (await f.api.get('/metrics')).text;
    expect(metrics).toMatch(/orgplane_move_fence_window_seconds_count\{outcome="deadline"\} [1-9]/);
  }, 150_000);
});

describe('a batch by percent', () => {
  it('moves P % of the orgs on a cluster in a range, at most `concurrency` at once, and completes them after grace', async () => {
    const orgIds = [201, 202, 203, 204, 205, 206, 207, 208];
    for (const orgId of orgIds) await seedOrg(pools[A]!, orgId, { rows: 300 });
    open = 0;
    maxOpen = 0;
    const { batch, moves } = await createMove({
      from: A,
      to: B,
      percent: 50,
      range: { lo: 200, hi: 299 },
      concurrency: 2,
      graceSeconds: 1,
    });
    expect(moves).toHaveLength(4);
    const chosen = moves.map((m: Json) => m.orgId);
    for (const m of moves) await waitState(m.id, ['completed']);
    expect(maxOpen).toBeLessThanOrEqual(2);
    expect(maxOpen).toBeGreaterThanOrEqual(1);
    const counts = (await f.api.get(`/v1/move-batches/${batch.id}`)).body;
    expect(counts).toMatchObject({ counts: { completed: 4 }, total: 4 });
    for (const orgId of orgIds) {
      const moved = chosen.includes(orgId);
      expect((await location(orgId)).clusterId).toBe(moved ? B : A);
      expect((await orgCounts(pools[moved ? A : B]!, orgId))['guests']).toBe(0);
      expect((await orgCounts(pools[moved ? B : A]!, orgId))['guests']).toBe(300);
      if (moved) expect(diffAtFlip.get(orgId)).toEqual([]);
    }
  });
});

describe('replica lag', () => {
  it('pauses the copy while the source lags, and goes on when it catches up', async () => {
    const orgId = 104;
    await seedOrg(pools[A]!, orgId, { rows: 200 });
    fakeLagBytes = 2 ** 40;
    try {
      const { moves } = await createMove({ orgIds: [orgId], to: B, graceSeconds: 0 });
      await waitFor('the paused event', async () => (await move(moves[0].id)).events.some((e: Json) => /paused/.test(e.message)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const paused = await move(moves[0].id);
      expect(paused.state).toBe('copying');
      expect(paused.progress.rowsCopied).toBe(0);
      fakeLagBytes = 0;
      const done = await waitState(moves[0].id, ['completed']);
      expect(done.events.some((e: Json) => /resumed/.test(e.message))).toBe(true);
    } finally {
      fakeLagBytes = 0;
    }
  });
});

describe('a cutover interrupted around the flip', () => {
  it('after both sides were marked, before the flip committed: cuts over again and flips, losing no write', async () => {
    const orgId = 105;
    await seedOrg(pools[A]!, orgId, { rows: 2000 });
    const load = workload(orgId);
    load.start();
    crashAt.set(orgId, 'before-flip');
    const { moves } = await createMove({ orgIds: [orgId], to: B, graceSeconds: 3600 });
    const id = moves[0].id;
    const flipped = await waitState(id, ['flipped']);
    expect(crashAt.has(orgId)).toBe(false);
    expect(flipped.events.some((e: Json) => /interrupted cutover/.test(e.message))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(diffAtFlip.get(orgId)).toEqual([]);
    expect(await load.check(pools[B]!)).toEqual([]);
    expect(await location(orgId)).toMatchObject({ clusterId: B, placement: { state: 'active' } });
    const stale = await pools[A]!.query("UPDATE guests SET full_name = 'stale' WHERE org_id = $1", [orgId]).catch((e: unknown) => e);
    expect((stale as { code?: string }).code).toBe('OPF02');
    expect((await f.api.post(`/v1/moves/${id}/complete`, {})).status).toBe(200);
    await waitState(id, ['completed']);
    expect(Object.values(await orgCounts(pools[A]!, orgId)).every((n) => n === 0)).toBe(true);
    expect(await load.check(pools[B]!)).toEqual([]);
  }, 120_000);

  it('after the flip committed, before the fence was let go: stays flipped and completes, losing no write', async () => {
    const orgId = 106;
    await seedOrg(pools[A]!, orgId, { rows: 2000 });
    const load = workload(orgId);
    load.start();
    crashAt.set(orgId, 'after-flip');
    const { moves } = await createMove({ orgIds: [orgId], to: B, graceSeconds: 0 });
    const id = moves[0].id;
    await waitState(id, ['flipped', 'completing', 'completed']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    const done = await waitState(id, ['completed']);
    expect(done.attempt).toBe(1);
    expect(diffAtFlip.get(orgId)).toEqual([]);
    expect(await load.check(pools[B]!)).toEqual([]);
    expect(Object.values(await orgCounts(pools[A]!, orgId)).every((n) => n === 0)).toBe(true);
    expect(await location(orgId)).toMatchObject({ clusterId: B });
  }, 120_000);
});

describe('orgs that did not move', () => {
  it('hold exactly the rows they held before every move above', async () => {
    expect(await orgRows(pools[A]!, 900)).toEqual(bystandersBefore[900]);
    expect(await orgRows(pools[B]!, 901)).toEqual(bystandersBefore[901]);
    expect(Object.values(await orgCounts(pools[B]!, 900)).every((n) => n === 0)).toBe(true);
    expect(Object.values(await orgCounts(pools[A]!, 901)).every((n) => n === 0)).toBe(true);
  });
});
