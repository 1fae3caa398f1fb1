// Replica health and read routing on real streaming replicas: the control plane probes
// two replicas of one primary, publishes their states, and runtimes read from the
// healthy ones. Each test puts the fleet back as it found it.
import type { Runtime } from '@orgplane/runtime';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLUSTER, type ReplicaFleet, startReplicaFleet, waitFor } from './replicaFleet.js';

// biome-ignore lint/suspicious/noExplicitAny: API documents read loosely
type Json = any;

const ORG = 42;
let fleet: ReplicaFleet;
let runtime: Runtime;
let ports: Map<number, string>;

beforeAll(async () => {
  fleet = await startReplicaFleet({ adminUrl: inject('pgAdminUrl'), replicas: 2, probeMs: 200 });
  ports = new Map([[fleet.primary.port, 'primary'], ...fleet.replicas.map((r) => [r.server.port, r.id] as [number, string])]);
  await fleet.sql("INSERT INTO organizations (org_id, name) VALUES ($1, 'v0')", [ORG]);
  runtime = await fleet.runtime();
  await waitFor('both replicas healthy in the runtime', () => healthyInRuntime().length === 2);
}, 180_000);

afterAll(() => fleet?.close());

async function replicas(): Promise<Json[]> {
  return (await fleet.call<Json>('GET', '/v1/replicas')).replicas;
}

function stateOf(list: Json[], id: string): string {
  return list.find((r: Json) => r.id === id).state;
}

/** Replica ids the runtime's config calls healthy. */
function healthyInRuntime(): string[] {
  const snapshot = (runtime as unknown as { meta: { replicas: Json[] } }).meta;
  return snapshot.replicas.filter((r: Json) => r.state === 'healthy').map((r: Json) => r.id);
}

/** Where a read ran: the replica id, or 'primary'. */
async function readWhere(r: Runtime = runtime): Promise<string> {
  const { rows } = await r.read(ORG, 'SELECT inet_server_port() AS port');
  return ports.get(rows[0].port)!;
}

async function setThresholds(body: Record<string, number>): Promise<void> {
  await fleet.call('PATCH', '/v1/replicas/settings', body);
}

async function controlPlaneMetrics(): Promise<string> {
  return (await fleet.cp.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${fleet.admin}` } })).body;
}

const [A, B] = ['primary-1-replica-1', 'primary-1-replica-2'] as const;
const server = (id: string) => fleet.replicas.find((r) => r.id === id)!.server;

it('spreads reads over both healthy replicas, and asserts ownership there (OPF02 from a replica that replayed a tombstone)', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) seen.add(await readWhere());
  expect([...seen].sort()).toEqual([A, B]);
  // A tombstone for org 7 on the primary reaches both replicas; a read there is refused.
  await fleet.sql("SELECT orgplane_mark_org_moved(7, 'test')");
  for (const id of [A, B]) {
    await waitFor(
      `${id} replays the tombstone`,
      async () => (await server(id).sql('SELECT count(*)::int AS n FROM orgplane_org_moves WHERE org_id = 7', [], 'tenant'))[0]!.n === 1,
    );
  }
  await expect(runtime.read(7, 'SELECT 1', [], { fenceWaitMs: 100 })).rejects.toMatchObject({ code: 'ORG_MOVED' });
});

it('keeps every replica healthy with lag 0 while the primary is idle', async () => {
  // 20 s of probes every 200 ms: longer than the 15 s between the standby snapshots an
  // idle primary still writes to its WAL. The last commit's timestamp grows old; that is
  // not lag. A probe that lands between such a record and its replay may see a few bytes
  // behind, but never seconds: the replica was caught up one probe before.
  const deadline = Date.now() + 20_000;
  const lags: number[] = [];
  let last = '';
  while (Date.now() < deadline) {
    const list = await replicas();
    for (const r of list) {
      expect(r.state, JSON.stringify(r)).toBe('healthy');
      expect(r.lagSeconds, JSON.stringify(r)).toBeLessThan(1);
    }
    if (list[0].checkedAt !== last) lags.push(...list.map((r: Json) => r.lagSeconds));
    last = list[0].checkedAt;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(lags.length).toBeGreaterThan(40);
  expect(lags.filter((l) => l === 0).length / lags.length).toBeGreaterThan(0.9);
});

describe('replay paused on one replica while the primary takes writes', () => {
  it('goes lagging, then unhealthy; runtimes stop reading it; it returns after resume and the hysteresis', async () => {
    await setThresholds({ lagWarnSeconds: 1, lagCriticalSeconds: 2 });
    const versions: { version: number; state: string }[] = [];
    const onChange = () => {
      const state = (runtime as unknown as { meta: { replicas: Json[] } }).meta.replicas.find((r: Json) => r.id === B)?.state;
      versions.push({ version: runtime.version!, state });
    };
    runtime.on('change', onChange);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await fleet.sql('UPDATE organizations SET name = $2 WHERE org_id = $1', [ORG, `w${i}`]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await server(B).pauseReplay();
      await waitFor('B unhealthy in the runtime', () => versions.some((v) => v.state === 'unhealthy'));
      // lagging came first: the states are published in order of severity.
      const states = versions.map((v) => v.state);
      expect(states.indexOf('lagging')).toBeGreaterThanOrEqual(0);
      expect(states.indexOf('lagging')).toBeLessThan(states.indexOf('unhealthy'));
      // From the change on, no read goes to B.
      for (let i = 0; i < 30; i++) expect(await readWhere()).toBe(A);
      const audit = await fleet.call<Json>('GET', '/v1/audit?action=replica.health');
      expect(audit.entries.some((e: Json) => e.reason.includes(`${B}: lagging -> unhealthy`))).toBe(true);
      expect(await controlPlaneMetrics()).toMatch(
        new RegExp(`orgplane_replica_state\\{cluster="${CLUSTER}",replica="${B}",state="unhealthy"\\} 1`),
      );

      await server(B).resumeReplay();
      await waitFor('B healthy again in the runtime', () => healthyInRuntime().includes(B));
      // Back only after healthyAfterProbes (3) good probes: never straight from unhealthy.
      const after = versions.map((v) => v.state);
      expect(after.at(-1)).toBe('healthy');
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add(await readWhere());
      expect(seen.has(B)).toBe(true);
    } finally {
      writing = false;
      await writer;
      runtime.off('change', onChange);
      await server(B)
        .resumeReplay()
        .catch(() => {});
      await setThresholds({ lagCriticalSeconds: 10, lagWarnSeconds: 5 });
    }
  });
});

describe("a replica's server stopped under a read workload", () => {
  it('fails no read, goes unreachable, and returns after a restart', async () => {
    let reading = true;
    let reads = 0;
    const failures: unknown[] = [];
    const workers = Array.from({ length: 8 }, async () => {
      while (reading) {
        try {
          await runtime.read(ORG, 'SELECT name FROM organizations WHERE org_id = $1', [ORG]);
          reads++;
        } catch (error) {
          failures.push(error);
        }
      }
    });
    try {
      await waitFor('reads running', () => reads > 50);
      await server(A).stop('fast');
      await waitFor('A unreachable', async () => stateOf(await replicas(), A) === 'unreachable');
      await waitFor('the runtime hears it', () => !healthyInRuntime().includes(A));
      const before = reads;
      await waitFor('more reads', () => reads > before + 100);
      await server(A).start();
      await waitFor('A healthy again', async () => stateOf(await replicas(), A) === 'healthy');
    } finally {
      reading = false;
      await Promise.all(workers);
      if (!server(A).pid()) await server(A).start();
    }
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(150);
  });
});

describe('every replica of the cluster out of rotation', () => {
  it('sends reads to the primary, with the fallback event and metric, and the control plane reports it', async () => {
    await fleet.call('POST', `/v1/replicas/${A}/drain`, { reason: 'test' });
    await fleet.call('POST', `/v1/replicas/${B}/drain`, { reason: 'test' });
    try {
      await waitFor('nothing healthy in the runtime', () => healthyInRuntime().length === 0);
      const events: Json[] = [];
      runtime.on('read-fallback', (e) => events.push(e));
      for (let i = 0; i < 5; i++) expect(await readWhere()).toBe('primary');
      expect(runtime.pool(ORG, { intent: 'read' })).toBe(runtime.pool(ORG, { intent: 'write' }));
      expect(events[0]).toEqual({ orgId: ORG, clusterId: CLUSTER, reason: 'no_healthy_replica' });
      const metrics = await runtime.metrics.metrics();
      expect(metrics).toMatch(/orgplane_runtime_read_fallbacks_total\{reason="no_healthy_replica"\} [1-9]/);
      expect(metrics).toMatch(/orgplane_runtime_reads_total\{target="primary"\} [1-9]/);
      // The checker's next round reports both as draining (what the all-out alert reads).
      await waitFor('draining in the metrics', async () => {
        const cpMetrics = await controlPlaneMetrics();
        return [A, B].every((id) => cpMetrics.includes(`orgplane_replica_state{cluster="${CLUSTER}",replica="${id}",state="draining"} 1`));
      });
    } finally {
      await fleet.call('POST', `/v1/replicas/${A}/undrain`, {});
      await fleet.call('POST', `/v1/replicas/${B}/undrain`, {});
    }
    await waitFor('both back', () => healthyInRuntime().length === 2);
  });
});

describe('read-your-writes', () => {
  it('a write followed at once by a read sees the write while a replica is paused (fails without the pin)', async () => {
    // Thresholds high: the paused replica stays healthy, so only the pin keeps reads off it.
    await setThresholds({ lagCriticalSeconds: 600, lagWarnSeconds: 300 });
    await server(B).pauseReplay();
    try {
      const where = new Map<string, number>();
      for (let i = 0; i < 20; i++) {
        await runtime.query(ORG, 'UPDATE organizations SET name = $2 WHERE org_id = $1', [ORG, `ryw-${i}`]);
        const { rows } = await runtime.read(ORG, 'SELECT name, inet_server_port() AS port FROM organizations WHERE org_id = $1', [ORG]);
        expect(rows[0].name).toBe(`ryw-${i}`);
        const at = ports.get(rows[0].port)!;
        where.set(at, (where.get(at) ?? 0) + 1);
      }
      // The paused replica never served the org while pinned.
      expect(where.get(B)).toBeUndefined();
      // Once the running replica has replayed the last write, pinned reads go to it, and
      // still never to B: one replica catching up does not unpin the others (GitLab #413203).
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 10; i++) {
        const { rows } = await runtime.read(ORG, 'SELECT name, inet_server_port() AS port FROM organizations WHERE org_id = $1', [ORG]);
        expect([rows[0].name, ports.get(rows[0].port)]).toEqual(['ryw-19', A]);
      }
    } finally {
      await server(B).resumeReplay();
    }
  });

  it('another instance honours the pin through the token; without it, it reads the stale replica', async () => {
    await server(A).pauseReplay();
    await server(B).pauseReplay();
    const other = await fleet.runtime();
    try {
      await runtime.transaction(ORG, async (client) => {
        await client.query("UPDATE organizations SET name = 'token-write' WHERE org_id = $1", [ORG]);
      });
      const token = runtime.readToken(ORG);
      expect(token).toMatch(/^rw1\.42\.[0-9a-f]+\.\d+$/);
      // Without the token the other instance reads a (paused, still healthy) replica: stale.
      const stale = await other.read(ORG, 'SELECT name FROM organizations WHERE org_id = $1', [ORG]);
      expect(stale.rows[0].name).not.toBe('token-write');
      const fresh = await other.read(ORG, 'SELECT name FROM organizations WHERE org_id = $1', [ORG], { after: token });
      expect(fresh.rows[0].name).toBe('token-write');
      await expect(other.read(ORG, 'SELECT 1', [], { after: 'rw1.43.1.1' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(other.read(ORG, 'SELECT 1', [], { after: 'nonsense' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await server(A).resumeReplay();
      await server(B).resumeReplay();
      await setThresholds({ lagWarnSeconds: 5, lagCriticalSeconds: 10 });
    }
  });
});
