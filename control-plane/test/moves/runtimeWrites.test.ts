// The runtime's write path against the real control plane during a real org move:
// runtime.transaction() and runtime.query() on a runtime whose map is stale (its watch
// stream held back, so the flip never arrives through it) are refused by the old owner
// with OPF02, refresh through GET /v1/config, and run again on the new owner. The
// fake-control-plane version of this is runtime/test/fencedWrites.test.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, freePort } from '@orgplane/embedded';
import { createRuntime, type Runtime, type WriteRetryEvent } from '@orgplane/runtime';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Fixture, type Json, ORG_ID_MAX, startFixture, waitFor } from '../helpers.js';
import { seedOrg } from './workload.js';

const A = 'tenant-a';
const B = 'tenant-b';
let f: Fixture;
let url: string;
const pools: Record<string, pg.Pool> = {};
const password = decodeURIComponent(new URL(inject('pgAdminUrl')).password);

/**
 * The runtime's fetch: everything passes through, but while held, nothing the watch
 * stream sends reaches the runtime (it stays queued in the stream), as with a stalled
 * proxy. Counts the runtime's GET /v1/config requests.
 */
class WatchGate {
  configFetches = 0;
  private held: { released: Promise<void>; release(): void } | undefined;

  hold(): void {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.held = { released, release };
  }

  release(): void {
    this.held?.release();
    this.held = undefined;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
    if (path === '/v1/config') this.configFetches++;
    if (path !== '/v1/config/watch' || res.body === null) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await reader.read();
        while (this.held) await this.held.released;
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

interface Followed {
  runtime: Runtime;
  gate: WatchGate;
  retries: WriteRetryEvent[];
}
const running: Followed[] = [];

async function followingRuntime(options: { cacheDir?: string; url?: string; holdWatch?: boolean } = {}): Promise<Followed> {
  const gate = new WatchGate();
  if (options.holdWatch) gate.hold();
  const runtime = createRuntime({
    url: options.url ?? url,
    cacheDir: options.cacheDir,
    token: f.tokens['sdk:read'],
    credentials: { password },
    fetch: gate.fetch,
    // A held stream is silent: the runtime must not reconnect around the gate mid-test.
    heartbeatTimeoutMs: 600_000,
    poolOptions: { max: 4 },
  });
  const followed = { runtime, gate, retries: [] as WriteRetryEvent[] };
  running.push(followed);
  runtime.on('error', () => {});
  runtime.on('write-retry', (e) => followed.retries.push(e));
  await runtime.ready(10_000);
  return followed;
}

async function controlVersion(): Promise<number> {
  return (await f.sql('SELECT version::int AS v FROM config_version'))[0].v;
}

async function moveToFlip(orgId: number): Promise<Json> {
  const created = await f.api.post('/v1/moves', { orgIds: [orgId], to: B, graceSeconds: 3600, reason: 'runtime writes' });
  expect(created.status, created.text).toBe(202);
  const id = created.body.moves[0].id;
  let move: Json;
  await waitFor(
    `move ${id} of org ${orgId} to flip`,
    async () => {
      move = (await f.api.get(`/v1/moves/${id}`)).body;
      if (move.state === 'failed') throw new Error(`the move failed: ${move.error}`);
      return move.state === 'flipped';
    },
    40_000,
  );
  return move;
}

async function guestIds(clusterId: string, orgId: number, from: number): Promise<number[]> {
  const { rows } = await pools[clusterId]!.query<{ id: string }>(
    'SELECT guest_id AS id FROM guests WHERE org_id = $1 AND guest_id >= $2 ORDER BY guest_id',
    [orgId, from],
  );
  return rows.map((r) => Number(r.id));
}

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_MOVE_POLL_MS: '50', ORGPLANE_MOVE_RETRY_BASE_MS: '200', ORGPLANE_LOG_LEVEL: 'warn' } });
  url = await f.cp.app.listen({ host: '127.0.0.1', port: 0 });
  for (const id of [A, B]) {
    const tenantUrl = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    pools[id] = new pg.Pool({ connectionString: tenantUrl, max: 4 });
    expect((await f.api.post('/v1/clusters', { id, primary: { url: tenantUrl } })).status).toBe(201);
  }
  expect((await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: A }] })).status).toBe(200);
});

afterEach(async () => {
  for (const { runtime, gate } of running.splice(0)) {
    gate.release();
    await runtime.close();
  }
});

afterAll(async () => {
  await f?.close();
  for (const pool of Object.values(pools)) await pool.end();
});

describe('a runtime holding the map from before a move', () => {
  it('writes after the flip: refused by the old owner (OPF02), refreshed through GET /v1/config, written on the new owner only', async () => {
    const orgId = 201;
    await seedOrg(pools[A]!, orgId, { rows: 200 });
    const { runtime, gate, retries } = await followingRuntime();
    expect(runtime.route(orgId)).toBe(A);
    gate.hold();

    await moveToFlip(orgId);
    expect(runtime.route(orgId)).toBe(A); // the flip did not reach it
    expect(runtime.version).toBeLessThan(await controlVersion());
    const fetchesBefore = gate.configFetches;

    const attempts: string[] = [];
    const written = await runtime.transaction(orgId, async (client) => {
      attempts.push((await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db);
      await client.query(
        "INSERT INTO guests (org_id, guest_id, property_id, full_name, checked_in) VALUES ($1, 700001, 1, 'after the flip', DATE '2026-01-01')",
        [orgId],
      );
      return 'written';
    });
    expect(written).toBe('written');
    const dbB = (await pools[B]!.query('SELECT current_database() AS db')).rows[0].db;
    // The old owner refused the org with BEGIN (the ownership check): fn ran on the new one only.
    expect(attempts).toEqual([dbB]);
    expect(retries).toEqual([{ orgId, reason: 'moved', attempt: 2, clusterId: A, nextClusterId: B, delayMs: 0 }]);
    expect(gate.configFetches).toBe(fetchesBefore + 1);
    expect(runtime.route(orgId)).toBe(B);
    expect(runtime.version).toBe(await controlVersion());
    expect(await runtime.metrics.getSingleMetricAsString('orgplane_runtime_write_retries_total')).toMatch(
      /orgplane_runtime_write_retries_total\{reason="moved"\} 1\b/,
    );

    expect(await guestIds(B, orgId, 700_000)).toEqual([700001]);
    expect(await guestIds(A, orgId, 700_000)).toEqual([]);
    // A read through the runtime answers from the new owner: only it has that row.
    const read = await runtime.query<{ full_name: string }>(orgId, 'SELECT full_name FROM guests WHERE org_id = $1 AND guest_id = 700001', [
      orgId,
    ]);
    expect(read.rows).toEqual([{ full_name: 'after the flip' }]);
  });

  // DESIGN.md: a stale map must not read a wrong answer on the old owner, which keeps
  // the org's rows until `complete`: the ownership check refuses the read there.
  it('reads after the flip: answered by the new owner, not from the rows the old owner keeps until complete', async () => {
    const orgId = 203;
    await seedOrg(pools[A]!, orgId, { rows: 10 });
    const { runtime, gate } = await followingRuntime();
    gate.hold();
    await moveToFlip(orgId);
    await pools[B]!.query("UPDATE organizations SET name = 'renamed on the new owner' WHERE org_id = $1", [orgId]);
    const read = await runtime.query<{ name: string }>(orgId, 'SELECT name FROM organizations WHERE org_id = $1', [orgId]);
    expect(read.rows).toEqual([{ name: 'renamed on the new owner' }]);
  });

  it('keeps every write acknowledged while the org is copied, fenced and flipped: on the target, none lost, none twice', async () => {
    const orgId = 202;
    const firstId = 800_000;
    await seedOrg(pools[A]!, orgId, { rows: 2000 });
    const counterBefore = Number(
      (await pools[A]!.query('SELECT amount_cents FROM expenses WHERE org_id = $1 AND expense_id = 1', [orgId])).rows[0].amount_cents,
    );
    const { runtime, gate, retries } = await followingRuntime();
    gate.hold();
    const fetchesBefore = gate.configFetches;

    // Each transaction adds a guest of its own id and counts itself on one expense row:
    // a write lost or applied twice shows in the ids or the count.
    const acknowledged: number[] = [];
    const errors: string[] = [];
    let next = firstId;
    let writing = true;
    const writer = async () => {
      while (writing) {
        const guestId = next++;
        try {
          await runtime.transaction(orgId, async (client) => {
            await client.query(
              "INSERT INTO guests (org_id, guest_id, property_id, full_name, checked_in) VALUES ($1, $2, 1, 'writer', DATE '2026-01-01')",
              [orgId, guestId],
            );
            await client.query('UPDATE expenses SET amount_cents = amount_cents + 1 WHERE org_id = $1 AND expense_id = 1', [orgId]);
          });
          acknowledged.push(guestId);
        } catch (err) {
          errors.push(`${guestId}: ${(err as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const writers = [writer(), writer(), writer()];
    try {
      await waitFor('writes on the source before the move', () => acknowledged.length >= 20, 10_000);
      await moveToFlip(orgId);
      await waitFor('writes on the target after the flip', () => runtime.route(orgId) === B && acknowledged.length >= 60, 10_000);
      const atFlip = acknowledged.length;
      await waitFor('more writes on the target', () => acknowledged.length >= atFlip + 20, 10_000);
    } finally {
      writing = false;
      await Promise.all(writers);
    }

    expect(errors).toEqual([]);
    acknowledged.sort((a, b) => a - b);
    expect(await guestIds(B, orgId, firstId)).toEqual(acknowledged);
    const counter = (await pools[B]!.query('SELECT amount_cents FROM expenses WHERE org_id = $1 AND expense_id = 1', [orgId])).rows[0];
    expect(Number(counter.amount_cents)).toBe(counterBefore + acknowledged.length);
    // The source kept only what was written before the flip, all of it also on the target.
    const onSource = await guestIds(A, orgId, firstId);
    expect(onSource.length).toBeLessThan(acknowledged.length);
    expect(acknowledged).toEqual(expect.arrayContaining(onSource));
    // The flip reached the runtime only through the refresh of a refused write.
    const moved = retries.filter((e) => e.reason === 'moved');
    expect(moved.length).toBeGreaterThanOrEqual(1);
    expect(moved.every((e) => e.clusterId === A && e.nextClusterId === B)).toBe(true);
    expect(gate.configFetches).toBeGreaterThan(fetchesBefore);
    expect(await runtime.metrics.getSingleMetricAsString('orgplane_runtime_write_retries_total')).toMatch(
      /orgplane_runtime_write_retries_total\{reason="moved"\} [1-9]/,
    );
  }, 120_000);
});

// The case: a service whose map is from before a move that has completed (the
// source's rows deleted), started from its disk cache. Without the ownership check the
// old owner answers UPDATE 0, an empty read, and a foreign-key error (23503) for a row
// of a child table: wrong answers with no error.
describe('a runtime whose disk snapshot predates a completed move', () => {
  const orgId = 77;
  let cacheDir: string;

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(tmpdir(), 'orgplane-stale-'));
    await seedOrg(pools[A]!, orgId, { rows: 20 });
    // A runtime that saw the map before the move leaves it on disk when it closes.
    const before = await followingRuntime({ cacheDir });
    expect(before.runtime.route(orgId)).toBe(A);
    await before.runtime.close();

    const move = await moveToFlip(orgId);
    const completed = await f.api.post(`/v1/moves/${move.id}/complete`, { reason: 'stale-map test' });
    expect(completed.status, completed.text).toBe(200);
    await waitFor(`move ${move.id} to complete`, async () => (await f.api.get(`/v1/moves/${move.id}`)).body.state === 'completed', 30_000);
    expect(await usersOf(A)).toEqual([]);
    // The new owner has changed since: a wrong answer would not even match the old rows.
    await pools[B]!.query("UPDATE users SET email = 'new-' || email WHERE org_id = $1", [orgId]);
  }, 120_000);

  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  async function usersOf(clusterId: string): Promise<string[]> {
    const { rows } = await pools[clusterId]!.query<{ email: string }>('SELECT email FROM users WHERE org_id = $1 ORDER BY user_id', [
      orgId,
    ]);
    return rows.map((r) => r.email);
  }

  async function guestCount(clusterId: string): Promise<number> {
    return Number((await pools[clusterId]!.query('SELECT count(*) AS n FROM guests WHERE org_id = $1', [orgId])).rows[0].n);
  }

  const update = (runtime: Runtime) => runtime.query(orgId, 'UPDATE users SET email = email WHERE org_id = $1', [orgId]);
  const remove = (runtime: Runtime) => runtime.query(orgId, 'DELETE FROM guests WHERE org_id = $1 AND guest_id = 1', [orgId]);
  const read = (runtime: Runtime) =>
    runtime.query<{ email: string }>(orgId, 'SELECT email FROM users WHERE org_id = $1 ORDER BY user_id', [orgId]);
  const insertChild = (runtime: Runtime, guestId: number) =>
    runtime.transaction(orgId, (client) =>
      client.query(
        "INSERT INTO guests (org_id, guest_id, property_id, full_name, checked_in) VALUES ($1, $2, 1, 'stale map', DATE '2026-01-01')",
        [orgId, guestId],
      ),
    );

  it('with the control plane down: OrgMovedError for an UPDATE of zero rows, a DELETE, a child INSERT and a read; nothing changes', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const { runtime } = await followingRuntime({ cacheDir, url: down });
    expect(runtime.source).toBe('disk');
    expect(runtime.route(orgId)).toBe(A);
    const usersOnB = await usersOf(B);
    const guestsOnB = await guestCount(B);

    for (const [what, attempt] of [
      ['update', () => update(runtime)],
      ['delete', () => remove(runtime)],
      ['child insert', () => insertChild(runtime, 900_001)],
      ['read', () => read(runtime)],
    ] as const) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error, what).toMatchObject({ name: 'OrgMovedError', code: 'ORG_MOVED', orgId, clusterId: A });
      expect((error as Error & { cause: { code: string } }).cause.code, what).toBe('OPF02');
      expect((error as Error & { hint: string }).hint, what).toMatch(/could not be refreshed/);
    }
    expect(await usersOf(A)).toEqual([]);
    expect(await guestCount(A)).toBe(0);
    expect(await usersOf(B)).toEqual(usersOnB);
    expect(await guestCount(B)).toBe(guestsOnB);
  });

  it('with the control plane up (the watch stream held): each refreshes and lands on the new owner', async () => {
    const { runtime, retries } = await followingRuntime({ cacheDir, holdWatch: true });
    expect(runtime.source).toBe('disk');
    expect(runtime.route(orgId)).toBe(A);
    const usersOnB = await usersOf(B);
    const guestsOnB = await guestCount(B);
    expect(usersOnB.length).toBeGreaterThan(1);
    expect(usersOnB.every((email) => email.startsWith('new-'))).toBe(true);

    expect((await read(runtime)).rows.map((r) => r.email)).toEqual(usersOnB);
    expect(runtime.route(orgId)).toBe(B);
    expect((await update(runtime)).rowCount).toBe(usersOnB.length);
    expect((await remove(runtime)).rowCount).toBe(1);
    await insertChild(runtime, 900_002);
    expect(retries.map((r) => [r.reason, r.clusterId, r.nextClusterId])).toEqual([['moved', A, B]]);

    expect(await usersOf(B)).toEqual(usersOnB);
    // One guest deleted, one inserted.
    expect(await guestCount(B)).toBe(guestsOnB);
    expect((await pools[B]!.query('SELECT 1 FROM guests WHERE org_id = $1 AND guest_id = 1', [orgId])).rowCount).toBe(0);
    expect((await pools[B]!.query('SELECT 1 FROM guests WHERE org_id = $1 AND guest_id = 900002', [orgId])).rowCount).toBe(1);
    expect(await usersOf(A)).toEqual([]);
    expect(await guestCount(A)).toBe(0);
  });
});
