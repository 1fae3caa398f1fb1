// runtime.transaction() / runtime.query() against two real tenant databases standing in
// for two clusters, with the move-capture trigger (OPF01/OPF02) doing the refusing and the
// fake control plane serving the map.
import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { WriteRetryEvent } from '../src/fencedWrites.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { ORG_ID_MAX, type WireCluster } from '../src/wire.js';
import { FakeControlPlane, TOKEN } from './fakeControlPlane.js';
import { sleep } from './helpers.js';

let sourceUrl: string;
let targetUrl: string;
let source: pg.Pool;
let target: pg.Pool;
let server: FakeControlPlane;
let runtime: Runtime;
let retries: WriteRetryEvent[];
const password = decodeURIComponent(new URL(inject('pgAdminUrl')).password);

/** The config carries no password; the host supplies it. */
function clusterAt(id: string, url: string): WireCluster {
  const bare = new URL(url);
  bare.password = '';
  return { id, state: 'active', primary: { url: bare.toString() }, replicas: [] };
}

beforeAll(async () => {
  const admin = inject('pgAdminUrl');
  [sourceUrl, targetUrl] = await Promise.all([createTestDatabase(admin, 'tenant'), createTestDatabase(admin, 'tenant')]);
  source = new pg.Pool({ connectionString: sourceUrl, max: 3 });
  target = new pg.Pool({ connectionString: targetUrl, max: 3 });
  server = new FakeControlPlane({
    version: 1,
    clusters: [clusterAt('source', sourceUrl), clusterAt('target', targetUrl)],
    ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'source' }],
  });
  await server.start();
});

afterAll(async () => {
  await server?.stop();
  await Promise.all([source?.end(), target?.end()]);
});

beforeEach(async () => {
  runtime = createRuntime({ url: server.url, token: TOKEN, credentials: { password }, poolOptions: { max: 4 } });
  runtime.on('error', () => {});
  retries = [];
  runtime.on('write-retry', (e) => retries.push(e));
  await runtime.ready(10_000);
});

afterEach(async () => {
  await runtime.close();
});

async function markOrg(db: pg.Pool, orgId: number, state: 'capturing' | 'fenced' | 'moved', fenceWaitMs = 2000): Promise<void> {
  await db.query('INSERT INTO orgplane_org_moves (org_id, state, move_id, fence_wait_ms) VALUES ($1, $2, $3, $4)', [
    orgId,
    state,
    `move-${orgId}`,
    fenceWaitMs,
  ]);
}

/** Points the control plane (not yet the runtime: no event is sent) at `clusterId` for the org. */
function flipSilently(orgId: number, clusterId: string): void {
  server.commit(
    { action: 'move.flip', placements: { upsert: [{ orgId, clusterId, state: 'active', epoch: 2 }], remove: [] } },
    { silently: true },
  );
}

async function orgRows(db: pg.Pool, orgId: number): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM organizations WHERE org_id = $1', [orgId]);
  return Number(rows[0]!.n);
}

/** A session holding the org's fence, as the mover's cutover does. */
async function holdFence(orgId: number): Promise<{ release(): Promise<void> }> {
  const client = await source.connect();
  await client.query('SELECT pg_advisory_lock(orgplane_fence_key($1))', [orgId]);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('SELECT pg_advisory_unlock(orgplane_fence_key($1))', [orgId]);
      client.release();
    },
  };
}

function insertOrg(orgId: number, calls: { n: number }) {
  return async (client: pg.PoolClient) => {
    calls.n++;
    await client.query('INSERT INTO organizations (org_id, name) VALUES ($1, $2)', [orgId, `org ${orgId}`]);
    return `wrote ${orgId}`;
  };
}

async function metric(name: string): Promise<string> {
  return runtime.metrics.getSingleMetricAsString(name);
}

describe('writes to a moved org', () => {
  it('stale map, org moved on the source: refreshes from GET /v1/config and the write lands on the target exactly once', async () => {
    await markOrg(source, 101, 'moved');
    flipSilently(101, 'target');
    expect(runtime.route(101)).toBe('source');
    const fetchesBefore = server.configRequests;
    const calls = { n: 0 };
    await expect(runtime.transaction(101, insertOrg(101, calls))).resolves.toBe('wrote 101');
    // The ownership check refused the source with BEGIN, before fn ran there.
    expect(calls.n).toBe(1);
    expect(retries).toEqual([{ orgId: 101, reason: 'moved', attempt: 2, clusterId: 'source', nextClusterId: 'target', delayMs: 0 }]);
    expect(server.configRequests).toBe(fetchesBefore + 1);
    expect(runtime.version).toBe(server.version);
    expect(runtime.route(101)).toBe('target');
    expect(await orgRows(target, 101)).toBe(1);
    expect(await orgRows(source, 101)).toBe(0);
    expect(await metric('orgplane_runtime_write_retries_total')).toContain('orgplane_runtime_write_retries_total{reason="moved"} 1');
  });

  it('query() does the same for one statement', async () => {
    await markOrg(source, 102, 'moved');
    flipSilently(102, 'target');
    const result = await runtime.query<{ org_id: string }>(
      102,
      'INSERT INTO organizations (org_id, name) VALUES ($1, $2) RETURNING org_id',
      [102, 'org 102'],
    );
    expect(result.rows).toEqual([{ org_id: '102' }]);
    expect(retries.map((r) => [r.reason, r.clusterId, r.nextClusterId])).toEqual([['moved', 'source', 'target']]);
    expect([await orgRows(source, 102), await orgRows(target, 102)]).toEqual([0, 1]);
  });

  it('OPF02 while the control plane still says source: asks again until the budget is spent, then OrgMovedError; never retried on the same cluster', async () => {
    await markOrg(source, 106, 'moved');
    const fetchesBefore = server.configRequests;
    const calls = { n: 0 };
    const error = await runtime.transaction(106, insertOrg(106, calls), { fenceWaitMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OrgMovedError', code: 'ORG_MOVED', orgId: 106, clusterId: 'source' });
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('OPF02');
    expect((error as Error & { hint: string }).hint).toMatch(/not published the new owner/);
    expect(calls.n).toBe(0);
    expect(retries).toEqual([]);
    expect(server.configRequests).toBeGreaterThan(fetchesBefore + 1); // it asked, and asked again
    expect([await orgRows(source, 106), await orgRows(target, 106)]).toEqual([0, 0]);
    expect(await metric('orgplane_runtime_write_refusals_total')).toContain('orgplane_runtime_write_refusals_total{reason="moved"} 1');
  });

  it('the source refuses a moment before the control plane publishes the flip: the write waits for it and lands on the target', async () => {
    // The cutover marks the source 'moved' and then commits the flip in the control DB:
    // for that moment the map everyone can fetch still says source.
    await markOrg(source, 150, 'moved');
    setTimeout(() => flipSilently(150, 'target'), 150);
    const calls = { n: 0 };
    await expect(runtime.transaction(150, insertOrg(150, calls))).resolves.toBe('wrote 150');
    expect(calls.n).toBe(1);
    expect(retries.map((r) => [r.reason, r.clusterId, r.nextClusterId])).toEqual([['moved', 'source', 'target']]);
    expect([await orgRows(source, 150), await orgRows(target, 150)]).toEqual([0, 1]);
  });

  it('the new owner refuses too: OrgMovedError after exactly one retry', async () => {
    await markOrg(source, 107, 'moved');
    await markOrg(target, 107, 'moved');
    flipSilently(107, 'target');
    const calls = { n: 0 };
    const error = await runtime.transaction(107, insertOrg(107, calls)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ORG_MOVED', clusterId: 'target' });
    expect(calls.n).toBe(0);
    expect(retries.map((r) => r.reason)).toEqual(['moved']);
    expect([await orgRows(source, 107), await orgRows(target, 107)]).toEqual([0, 0]);
  });

  it('the control plane unreachable during the refresh: OrgMovedError says so, and nothing is written', async () => {
    await markOrg(source, 110, 'moved');
    const stopped = runtime;
    const port = Number(new URL(server.url).port);
    await server.stop();
    try {
      const error = await stopped.transaction(110, insertOrg(110, { n: 0 })).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ORG_MOVED' });
      expect((error as { hint: string }).hint).toMatch(/could not be refreshed/);
    } finally {
      await server.start(port);
    }
    expect(await orgRows(source, 110)).toBe(0);
  });
});

describe('writes to a fenced org', () => {
  it('wait while the fence is held (released after 300 ms), then succeed once', async () => {
    await markOrg(source, 103, 'fenced');
    const fence = await holdFence(103);
    let released = false;
    const releasing = sleep(300).then(async () => {
      released = true;
      await fence.release();
    });
    try {
      const calls = { n: 0 };
      await expect(
        runtime.transaction(103, async (client) => {
          const out = await insertOrg(103, calls)(client);
          expect(released).toBe(true); // the insert could not finish while the fence was held
          return out;
        }),
      ).resolves.toBe('wrote 103');
      expect(await orgRows(source, 103)).toBe(1);
      const { rows } = await source.query('SELECT count(*)::int AS n FROM orgplane_changes WHERE org_id = 103');
      expect(rows[0].n).toBe(1); // captured for the mover's replay
    } finally {
      await releasing;
    }
  });

  it('when the trigger gives up first (OPF01), the runtime retries until the fence is released', async () => {
    await markOrg(source, 104, 'fenced', 20);
    const fence = await holdFence(104);
    runtime.once('write-retry', () => void fence.release());
    try {
      const calls = { n: 0 };
      await expect(runtime.transaction(104, insertOrg(104, calls), { fenceWaitMs: 30_000 })).resolves.toBe('wrote 104');
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries.every((r) => r.reason === 'fenced' && r.clusterId === 'source' && r.nextClusterId === 'source')).toBe(true);
      expect(calls.n).toBe(retries.length + 1);
      expect(await orgRows(source, 104)).toBe(1);
    } finally {
      await fence.release();
    }
  });

  it('a fence held past the write budget: OrgFencedError, nothing written', async () => {
    await markOrg(source, 105, 'fenced', 20);
    const fence = await holdFence(105);
    try {
      const calls = { n: 0 };
      const error = await runtime.transaction(105, insertOrg(105, calls), { fenceWaitMs: 300 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'OrgFencedError', code: 'ORG_FENCED', orgId: 105, clusterId: 'source' });
      expect((error as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(300);
      expect(calls.n).toBe(retries.length + 1);
      expect(calls.n).toBeGreaterThan(1);
      expect(await metric('orgplane_runtime_write_refusals_total')).toContain('{reason="fenced"} 1');
    } finally {
      await fence.release();
    }
    expect(await orgRows(source, 105)).toBe(0);
  });

  it('a cutover: fenced, then flipped and released; the waiting write lands on the target once', async () => {
    await markOrg(source, 109, 'fenced');
    const fence = await holdFence(109);
    const writing = runtime.transaction(109, insertOrg(109, { n: 0 }));
    for (let waiting = 0; waiting === 0; await sleep(10)) {
      const { rows } = await source.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
      waiting = rows[0].n;
    }
    await source.query("UPDATE orgplane_org_moves SET state = 'moved' WHERE org_id = 109");
    server.commit({
      action: 'move.flip',
      placements: { upsert: [{ orgId: 109, clusterId: 'target', state: 'active', epoch: 2 }], remove: [] },
    });
    await fence.release();
    await expect(writing).resolves.toBe('wrote 109');
    expect([await orgRows(source, 109), await orgRows(target, 109)]).toEqual([0, 1]);
    expect(retries.map((r) => [r.reason, r.nextClusterId])).toEqual([['moved', 'target']]);
  });
});

describe('writes that are not about moves', () => {
  it('another database error is thrown as is, without a retry', async () => {
    await source.query("INSERT INTO organizations (org_id, name) VALUES (108, 'first')");
    const calls = { n: 0 };
    const error = await runtime.transaction(108, insertOrg(108, calls)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '23505' });
    expect(calls.n).toBe(1);
    expect(retries).toEqual([]);
  });

  it("fn's own error rolls the transaction back and is thrown as is", async () => {
    const error = await runtime
      .transaction(111, async (client) => {
        await insertOrg(111, { n: 0 })(client);
        throw new Error('changed my mind');
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('changed my mind');
    expect(await orgRows(source, 111)).toBe(0);
  });

  it("a session taken through pool() whose connection is killed while checked out does not crash the host (pg's 'error')", async () => {
    const client = await runtime.pool(160, { intent: 'write' }).connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // Killed from outside while the caller holds the session and runs nothing on it.
    await source.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await sleep(300);
    expect(await client.query('SELECT 1').catch((e: unknown) => e)).toBeInstanceOf(Error);
    client.release(true);
  });

  it('bad input is refused by name and writes nothing', async () => {
    await expect(runtime.transaction(-1, insertOrg(-1, { n: 0 }))).rejects.toMatchObject({ code: 'INVALID_ORG_ID' });
    await expect(runtime.transaction(112, 'nope' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runtime.transaction(112, insertOrg(112, { n: 0 }), { fenceWaitMs: -5 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(runtime.query(112, 42 as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await orgRows(source, 112)).toBe(0);
  });
});
