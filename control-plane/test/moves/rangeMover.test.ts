// The tenant side of RANGE moves against real Postgres: every org of a span moves with one
// capture, parallel COPY streams, one fence and one set of markers. Two tenant databases
// stand in for the clusters. Writers run on several orgs of the span throughout (one org
// is created during the copy); orgs of the span with pins are left alone; orgs outside
// the span must stay byte for byte as they were.

import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MoveScope } from '../../src/features/moves/tenant/MoveScope.js';
import { createTenantMover } from '../../src/features/moves/tenant/PgTenantMover.js';
import type { CutoverHooks, TenantMover } from '../../src/features/moves/tenant/TenantMover.js';
import { createLogger } from '../../src/logger.js';
import { LogCapture } from '../helpers.js';
import { MoveWorkload, orgCounts, orgRows, seedOrg } from './workload.js';

let sourceUrl: string;
let targetUrl: string;
let src: pg.Pool;
let tgt: pg.Pool;
const log = new LogCapture();
const movers: TenantMover[] = [];
const loads: MoveWorkload[] = [];

beforeAll(async () => {
  const adminUrl = inject('pgAdminUrl');
  [sourceUrl, targetUrl] = [await createTestDatabase(adminUrl, 'tenant'), await createTestDatabase(adminUrl, 'tenant')];
  src = new pg.Pool({ connectionString: sourceUrl, max: 20 });
  tgt = new pg.Pool({ connectionString: targetUrl, max: 20 });
});
afterAll(async () => {
  await Promise.all(loads.map((l) => l.stop()));
  for (const m of movers) await m.close();
  await src?.end();
  await tgt?.end();
});

function rangeMover(scope: MoveScope, options: { streams?: number; readUrls?: string[] } = {}): TenantMover {
  const m = createTenantMover({
    moveId: `mv_range_${scope.kind === 'range' ? scope.lo : scope.orgId}`,
    scope,
    sourceUrl,
    targetUrl,
    fenceDeadlineMs: 3000,
    copyStreams: options.streams ?? 3,
    ...(options.readUrls ? { sourceReadUrls: options.readUrls } : {}),
    log: createLogger({ logLevel: 'info' }, log),
  });
  movers.push(m);
  return m;
}

function span(lo: number, hi: number, pins: { source?: number[]; target?: number[]; elsewhere?: number[] } = {}): MoveScope {
  const pinnedToSource = pins.source ?? [];
  const pinnedToTarget = pins.target ?? [];
  return {
    kind: 'range',
    lo,
    hi,
    pinned: [...pinnedToSource, ...pinnedToTarget, ...(pins.elsewhere ?? [])],
    pinnedToSource,
    pinnedToTarget,
  };
}

const hooks = (onFlip: () => unknown): CutoverHooks => ({
  async fenced() {},
  async flip() {
    await onFlip();
  },
  async released() {},
});

async function copyAll(m: TenantMover, between?: (table: string) => Promise<void>): Promise<void> {
  for (const table of await m.tables()) {
    await m.copyTable(table, () => {});
    await between?.(table.name);
  }
}

/** Rows of [lo, hi] per table, as sorted texts. */
async function spanRows(pool: pg.Pool, lo: number, hi: number, except: number[] = []): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of ['organizations', 'properties', 'users', 'staff', 'guests', 'expenses', 'revenues']) {
    const { rows } = await pool.query<{ r: string }>(
      `SELECT t::text AS r FROM ${table} t WHERE org_id BETWEEN $1 AND $2 AND NOT (org_id = ANY($3::bigint[])) ORDER BY 1`,
      [lo, hi, except],
    );
    out[table] = rows.map((r) => r.r);
  }
  return out;
}

async function sqlStateOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('range moves: the tenant side', () => {
  it('moves a span under writers (an org created mid-copy included), leaves pinned orgs and bystanders alone, and refuses stale maps after complete', async () => {
    const moving = [2000, 2001, 2002, 2003, 2100, 2999];
    for (const id of moving) await seedOrg(src, id, { rows: 40 });
    await seedOrg(src, 2500, { rows: 10 }); // pinned to the source: stays there
    await seedOrg(tgt, 2600, { rows: 10 }); // pinned to the target: its rows are there already
    await seedOrg(src, 1999, { rows: 10 }); // bystanders, outside the span
    await seedOrg(src, 3000, { rows: 10 });
    await seedOrg(tgt, 1998, { rows: 10 });
    const bystanders = {
      1999: await orgRows(src, 1999),
      3000: await orgRows(src, 3000),
      1998: await orgRows(tgt, 1998),
      2500: await orgRows(src, 2500),
      2600: await orgRows(tgt, 2600),
    };
    const scope = span(2000, 2999, { source: [2500], target: [2600], elsewhere: [2700] });
    let flipped = false;
    const owner = () => (flipped ? tgt : src);
    for (const orgId of [2000, 2001, 2100]) {
      const load = new MoveWorkload({ orgId, owner, writers: 2 });
      loads.push(load);
      load.start();
    }
    const m = rangeMover(scope);
    const estimates = await m.estimateRows();
    expect(estimates.get('organizations')).toBe(moving.length);
    await m.startCapture();
    let late: MoveWorkload | undefined;
    await copyAll(m, async (table) => {
      // A new org of the span appears once `organizations` is copied: only the capture carries it.
      if (table !== 'organizations' || late) return;
      await seedOrg(src, 2400, { rows: 20 });
      late = new MoveWorkload({ orgId: 2400, owner, writers: 1 });
      loads.push(late);
      late.start();
    });
    expect(late).toBeDefined();
    await m.catchUp();
    expect((await m.verify()).ok).toBe(true);
    let atFlip: [Record<string, string[]>, Record<string, string[]>] | undefined;
    const result = await m.cutover(
      hooks(async () => {
        // Under the fence nobody writes the span: the target must hold exactly the source's span.
        atFlip = [await spanRows(tgt, 2000, 2999, [2500, 2600]), await spanRows(src, 2000, 2999, [2500, 2600])];
        flipped = true;
      }),
    );
    expect(result.outcome).toBe('flipped');
    expect(atFlip?.[0]).toEqual(atFlip?.[1]);
    expect(atFlip?.[0]['organizations']).toHaveLength(moving.length + 1);
    await new Promise((r) => setTimeout(r, 300));
    const stats = await Promise.all(loads.splice(0).map(async (l) => ({ load: l, stats: await l.stop() })));
    for (const { load, stats: s } of stats) {
      expect(s.errors).toEqual([]);
      expect(s.acknowledged).toBeGreaterThan(0);
      expect(await load.check(tgt)).toEqual([]);
    }
    expect((await orgCounts(tgt, 2400)).organizations).toBe(1);
    // Markers: the source refuses the span but serves its pinned org; the target serves the span.
    expect(await sqlStateOf(src.query('SELECT orgplane_claim_org(2001)'))).toBe('OPF02');
    expect(await sqlStateOf(src.query('SELECT orgplane_claim_org(2500)'))).toBeUndefined();
    expect(await sqlStateOf(tgt.query('SELECT orgplane_claim_org(2001)'))).toBeUndefined();
    expect(await sqlStateOf(tgt.query('SELECT orgplane_claim_org(2600)'))).toBeUndefined();

    const { deletedRows } = await m.complete();
    expect(deletedRows).toBeGreaterThan(0);
    expect(Object.values(await spanRows(src, 2000, 2999, [2500])).flat()).toEqual([]);
    // Stale writers and readers on the source, long after complete: refused, nothing written.
    expect(await sqlStateOf(src.query("INSERT INTO organizations (org_id, name) VALUES (2001, 'stale')"))).toBe('OPF02');
    expect(await sqlStateOf(src.query("INSERT INTO organizations (org_id, name) VALUES (2777, 'new in the span')"))).toBe('OPF02');
    expect(await sqlStateOf(src.query('SELECT orgplane_claim_org(2999)'))).toBe('OPF02');
    // The pinned org still lives and writes on the source; the target's pinned org is untouched.
    await src.query("UPDATE organizations SET plan = 'kept' WHERE org_id = 2500");
    await src.query("UPDATE organizations SET plan = 'standard' WHERE org_id = 2500");
    expect(await orgRows(src, 2500)).toEqual(bystanders[2500]);
    expect(await orgRows(tgt, 2600)).toEqual(bystanders[2600]);
    expect(await orgRows(src, 1999)).toEqual(bystanders[1999]);
    expect(await orgRows(src, 3000)).toEqual(bystanders[3000]);
    expect(await orgRows(tgt, 1998)).toEqual(bystanders[1998]);
    // The target writes the span with no capture left behind.
    await tgt.query("UPDATE organizations SET plan = 'after' WHERE org_id = 2002");
    const { rows: logged } = await tgt.query('SELECT count(*)::int AS n FROM orgplane_changes WHERE org_id BETWEEN 2000 AND 2999');
    expect(logged[0].n).toBe(0);
  });

  it('holds writers of the span during the fence with its own lock, not the org fence', async () => {
    await seedOrg(src, 5001, { rows: 5 });
    const m = rangeMover(span(5000, 5999), { streams: 1 });
    await m.startCapture();
    await copyAll(m);
    let sawFence = false;
    const result = await m.cutover({
      async fenced() {
        // A writer of the span now waits for the range's fence and gives up with OPF01 after
        // fence_wait_ms; one outside the span does not wait at all.
        const writer = new pg.Client({ connectionString: sourceUrl });
        await writer.connect();
        try {
          await writer.query("SELECT set_config('lock_timeout', '200ms', false)");
          const blocked = await writer.query('SELECT pg_try_advisory_xact_lock_shared(orgplane_range_fence_key(5000)) AS ok');
          sawFence = blocked.rows[0].ok === false;
          const { rows } = await writer.query('SELECT pg_try_advisory_xact_lock_shared(orgplane_fence_key(5001)) AS ok');
          expect(rows[0].ok).toBe(true);
        } finally {
          await writer.end();
        }
      },
      async flip() {},
      async released() {},
    });
    expect(result.outcome).toBe('flipped');
    expect(sawFence).toBe(true);
    await m.complete();
  });

  it('rolls a flipped span back with every write made on the target, and aborts one that has not flipped', async () => {
    for (const id of [6000, 6001]) await seedOrg(src, id, { rows: 20 });
    let flipped = false;
    const load = new MoveWorkload({ orgId: 6001, owner: () => (flipped ? tgt : src), writers: 2 });
    loads.push(load);
    load.start();
    const m = rangeMover(span(6000, 6999));
    await m.startCapture();
    await copyAll(m);
    expect((await m.cutover(hooks(() => (flipped = true)))).outcome).toBe('flipped');
    await new Promise((r) => setTimeout(r, 300));
    // Back: writers follow the map to the source again.
    const back = await m.rollback(hooks(() => (flipped = false)));
    expect(back.outcome).toBe('flipped');
    await new Promise((r) => setTimeout(r, 200));
    const stats = await load.stop();
    loads.splice(loads.indexOf(load), 1);
    expect(stats.errors).toEqual([]);
    expect(await load.check(src)).toEqual([]);
    expect(Object.values(await spanRows(tgt, 6000, 6999)).flat()).toEqual([]);
    expect(await sqlStateOf(src.query('SELECT orgplane_claim_org(6001)'))).toBeUndefined();
    expect(await sqlStateOf(tgt.query('SELECT orgplane_claim_org(6001)'))).toBe('OPF02');
    await expect(m.complete()).rejects.toMatchObject({ code: 'TENANT_MOVE_STATE' });

    // Abort before the flip: the target drops its copy, the source serves as before.
    await seedOrg(src, 7000, { rows: 10 });
    const before = await orgRows(src, 7000);
    const a = rangeMover(span(7000, 7999));
    await a.startCapture();
    await copyAll(a);
    await src.query("UPDATE organizations SET plan = 'during' WHERE org_id = 7000");
    await a.abort();
    await src.query("UPDATE organizations SET plan = 'standard' WHERE org_id = 7000");
    expect(await orgRows(src, 7000)).toEqual(before);
    expect(Object.values(await spanRows(tgt, 7000, 7999)).flat()).toEqual([]);
    const { rows } = await src.query('SELECT count(*)::int AS n FROM orgplane_changes WHERE org_id BETWEEN 7000 AND 7999');
    expect(rows[0].n).toBe(0);
  });

  it('copies from the primary when a read URL is not a caught-up replica', async () => {
    await seedOrg(src, 8000, { rows: 10 });
    // A primary answers pg_last_wal_replay_lsn() with NULL: never read the copy from it.
    const m = rangeMover(span(8000, 8999), { readUrls: [targetUrl] });
    await m.startCapture();
    const results = [];
    for (const table of await m.tables()) results.push(await m.copyTable(table, () => {}));
    expect(results.every((r) => r.readFrom === 'primary')).toBe(true);
    expect(await spanRows(tgt, 8000, 8999)).toEqual(await spanRows(src, 8000, 8999));
    await m.abort();
  });
});
