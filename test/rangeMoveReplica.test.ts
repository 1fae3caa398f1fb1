// A range move whose bulk copy reads from a real streaming replica of the source, driven
// through the control plane's API with the executor running, while a runtime (the SDK a
// service embeds) writes and reads the span throughout: its map goes stale at the flip and
// again at the rollback, and it must never see a wrong answer or lose a write.
import type { Runtime } from '@orgplane/runtime';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { migrate } from '../control-plane/src/db/migrate.js';
import { CLUSTER, type ReplicaFleet, startReplicaFleet, waitFor } from './replicaFleet.js';

// biome-ignore lint/suspicious/noExplicitAny: API documents read loosely
type Json = any;

const TARGET = 'primary-2';
const LO = 1000;
const ORGS = Array.from({ length: 12 }, (_, i) => LO + i);
let fleet: ReplicaFleet;
let target: pg.Pool;
let runtime: Runtime;

beforeAll(async () => {
  fleet = await startReplicaFleet({ adminUrl: inject('pgAdminUrl'), replicas: 1, probeMs: 200 });
  // The destination is another database of the same server, so the runtime's credentials
  // open it too (it connects to every cluster with one set).
  await fleet.primary.sql('CREATE DATABASE tenant_b');
  const targetUrl = fleet.primary.url('tenant_b');
  await migrate(targetUrl, 'tenant');
  target = new pg.Pool({ connectionString: targetUrl, max: 4 });
  await fleet.call('POST', '/v1/clusters', { id: TARGET, primary: { url: targetUrl } });
  await fleet.call('POST', '/v1/shard-map/split', { at: LO });
  for (const org of ORGS) {
    await fleet.sql("INSERT INTO organizations (org_id, name) VALUES ($1, 'org')", [org]);
    await fleet.sql(`INSERT INTO properties (org_id, property_id, name) SELECT $1, g, 'p' || g FROM generate_series(1, 500) g`, [org]);
  }
  await fleet.sql("INSERT INTO organizations (org_id, name) VALUES (999, 'outside')");
  runtime = await fleet.runtime({ fenceWaitMs: 5000 });
  await waitFor('the replica healthy', async () => {
    const { replicas } = await fleet.call<Json>('GET', '/v1/replicas');
    return replicas.every((r: Json) => r.state === 'healthy');
  });
}, 180_000);

afterAll(async () => {
  await target?.end();
  await fleet?.close();
});

async function waitState(id: string, state: string): Promise<Json> {
  let move: Json;
  await waitFor(
    `move ${id} ${state}`,
    async () => {
      move = await fleet.call<Json>('GET', `/v1/moves/${id}`);
      if (move.state === 'failed') throw new Error(`the move failed: ${move.error}`);
      return move.state === state;
    },
    120_000,
  );
  return move;
}

/** Writes through the runtime on every org of the span until stopped; each acknowledged one is remembered. */
function startRuntimeWriter(): { stop: () => Promise<void>; acked: Map<number, number>; errors: string[] } {
  const acked = new Map<number, number>();
  const errors: string[] = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const org = ORGS[n % ORGS.length]!;
      const value = ++n;
      try {
        await runtime.transaction(org, (tx) => tx.query('UPDATE organizations SET name = $2 WHERE org_id = $1', [org, `v${value}`]));
        acked.set(org, value);
        // A read right after: the runtime must answer from the cluster that serves the org now.
        const { rows } = await runtime.read(org, 'SELECT name FROM organizations WHERE org_id = $1', [org]);
        if (rows[0]?.name !== `v${value}`) errors.push(`org ${org}: read ${rows[0]?.name} after writing v${value}`);
      } catch (err) {
        errors.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
      }
    }
  })();
  return {
    acked,
    errors,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

it('copies the span from a caught-up replica, flips and rolls back under a runtime writing it, with nothing lost', async () => {
  const writer = startRuntimeWriter();
  const created = await fleet.call<Json>('POST', '/v1/moves', { range: { lo: LO, hi: 2 ** 53 - 1 }, to: TARGET, graceSeconds: 3600 });
  const id = created.moves[0].id;
  expect(created.moves[0]).toMatchObject({ kind: 'range', readFrom: 'replica', copyStreams: 4 });
  const flipped = await waitState(id, 'flipped');
  const copies = flipped.events.filter((e: Json) => e.message.startsWith('copied '));
  expect(copies.length).toBeGreaterThan(0);
  for (const e of copies) expect(e.message).toContain('(read from a replica)');
  const properties = flipped.tables.find((t: Json) => t.table === 'properties');
  expect(properties).toMatchObject({ estimatedRows: ORGS.length * 500, rowsCopied: ORGS.length * 500 });
  expect(properties.sourceChecksum).toBe(properties.targetChecksum);
  await waitFor('the runtime to write on the new cluster', () => writer.acked.size === ORGS.length, 30_000);
  const { rows: onTarget } = await target.query('SELECT count(*)::int AS n FROM organizations WHERE org_id >= $1', [LO]);
  expect(onTarget[0].n).toBe(ORGS.length);

  // Back to the source, with what was written on the target meanwhile.
  await fleet.call('POST', `/v1/moves/${id}/rollback`, { reason: 'test' });
  await waitState(id, 'rolled_back');
  await new Promise((r) => setTimeout(r, 500));
  await writer.stop();
  expect(writer.errors).toEqual([]);
  for (const [org, value] of writer.acked) {
    const [row] = await fleet.sql<{ name: string }>('SELECT name FROM organizations WHERE org_id = $1', [org]);
    expect(row?.name, `org ${org}`).toBe(`v${value}`);
  }
  const { rows: left } = await target.query('SELECT count(*)::int AS n FROM organizations WHERE org_id >= $1', [LO]);
  expect(left[0].n).toBe(0);
  const { ranges } = await fleet.call<Json>('GET', '/v1/shard-map');
  expect(ranges.map((r: Json) => r.clusterId)).toEqual([CLUSTER, CLUSTER]);
  expect((await fleet.sql<{ name: string }>('SELECT name FROM organizations WHERE org_id = 999'))[0]?.name).toBe('outside');

  // Once more, aborted before the flip this time: the copy goes, the source serves on.
  const again = await fleet.call<Json>('POST', '/v1/moves', { range: { lo: LO, hi: 2 ** 53 - 1 }, to: TARGET, readFrom: 'primary' });
  const second = again.moves[0].id;
  await waitFor(
    'the second move to copy',
    async () => (await fleet.call<Json>('GET', `/v1/moves/${second}`)).progress.rowsCopied > 0,
    60_000,
  );
  await fleet.call('POST', `/v1/moves/${second}/abort`, { reason: 'test' });
  const aborted = await waitState(second, 'aborted');
  expect(aborted.events.some((e: Json) => e.message.includes('(read from a replica)'))).toBe(false);
  const { rows: none } = await target.query('SELECT count(*)::int AS n FROM properties WHERE org_id >= $1', [LO]);
  expect(none[0].n).toBe(0);
  await runtime.transaction(LO, (tx) => tx.query("UPDATE organizations SET name = 'after abort' WHERE org_id = $1", [LO]));
  expect((await fleet.sql<{ name: string }>('SELECT name FROM organizations WHERE org_id = $1', [LO]))[0]?.name).toBe('after abort');
}, 240_000);
