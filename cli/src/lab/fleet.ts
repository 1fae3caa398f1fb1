// The lab's Postgres servers: one control DB and, per cluster, a primary with streaming
// replicas. Built from the state, so every command sees the same servers.

import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PostgresServer } from '@orgplane/embedded';
import { sleep } from '@orgplane/kit';
import pg from 'pg';
import { isAliveAs } from './processes.js';
import { CONTROL_DB_ID, type LabState, labPaths } from './state.js';

export const TENANT_DB = 'tenant';
export const CONTROL_DB = 'orgplane';

/**
 * Room for the seed's bulk inserts without a checkpoint every few seconds. A slot keeps
 * WAL for its replica; the cap keeps a replica that never comes back (killed by a chaos
 * experiment, say) from filling the disk: past it the slot is dropped from use and that
 * replica must be rebuilt. A 1 M-org seed writes about 1.5 GB per primary.
 */
const SETTINGS = { max_wal_size: "'1GB'", checkpoint_timeout: "'15min'", max_slot_wal_keep_size: "'4GB'" };

export interface LabServer {
  id: string;
  server: PostgresServer;
}

export interface LabReplica extends LabServer {
  /** The physical replication slot it streams through on its primary; null in labs made before slots. */
  slot: string | null;
}

export interface LabCluster {
  id: string;
  primary: PostgresServer;
  replicas: LabReplica[];
}

export interface Fleet {
  controlDb: PostgresServer;
  clusters: LabCluster[];
}

export function fleetOf(dir: string, state: LabState): Fleet {
  const paths = labPaths(dir);
  const make = (id: string, port: number) =>
    new PostgresServer({ dataDir: paths.dataDir(id), port, password: state.password, settings: SETTINGS });
  return {
    controlDb: make(CONTROL_DB_ID, state.controlDb.port),
    clusters: state.fleet.map((c) => ({
      id: c.id,
      primary: make(c.id, c.port),
      replicas: c.replicas.map((r) => ({ id: r.id, server: make(r.id, r.port), slot: r.replicationSlot ?? null })),
    })),
  };
}

/** The control DB and the primaries, in start order. */
export function primariesOf(fleet: Fleet): LabServer[] {
  return [{ id: CONTROL_DB_ID, server: fleet.controlDb }, ...fleet.clusters.map((c) => ({ id: c.id, server: c.primary }))];
}

export function replicasOf(fleet: Fleet): LabReplica[] {
  return fleet.clusters.flatMap((c) => c.replicas);
}

/** Its postmaster runs (and is a postgres of this data directory, not a recycled pid). */
export function isRunning(server: PostgresServer): boolean {
  return isAliveAs(server.pid(), server.dataDir);
}

/** initdb every server; replicas are copies of their never-started primary. */
export async function initFleet(fleet: Fleet): Promise<void> {
  await Promise.all([fleet.controlDb, ...fleet.clusters.map((c) => c.primary)].map((s) => s.init()));
  for (const cluster of fleet.clusters) {
    for (const replica of cluster.replicas) {
      await cluster.primary.createReplica({ dataDir: replica.server.dataDir, port: replica.server.port, slot: replica.slot ?? undefined });
    }
  }
}

/**
 * Every replica's slot on its running primary, created before the replica first starts so
 * that it reserves the WAL from the copy onwards. Slots outlive restarts: afterwards this
 * only finds them there.
 */
export async function ensureSlots(fleet: Fleet): Promise<void> {
  await Promise.all(
    fleet.clusters.map(async (c) => {
      if (!isRunning(c.primary)) return;
      for (const r of c.replicas) if (r.slot) await c.primary.ensureReplicationSlot(r.slot);
    }),
  );
}

/** Start the servers that are not running, in order; returns the ids it started. */
export async function startStopped(servers: LabServer[], started: LabServer[] = [], onStarted?: (id: string) => void): Promise<string[]> {
  const ids: string[] = [];
  for (const s of servers) {
    if (isRunning(s.server)) continue;
    // A postmaster.pid left by a crash whose pid now belongs to another process would
    // make Postgres refuse to start. Never remove the lock of a live postgres.
    const stale = s.server.pid();
    if (stale !== null && !isAliveAs(stale, 'postgres')) await rm(path.join(s.server.dataDir, 'postmaster.pid'), { force: true });
    // Recorded before it starts: a start that times out may leave a postmaster starting
    // in the background, and a failure must stop that one too.
    started.push(s);
    await s.server.start();
    ids.push(s.id);
    onStarted?.(s.id);
  }
  return ids;
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function ensureDatabase(server: PostgresServer, name: string): Promise<void> {
  await withClient(server.url(), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  });
}

async function currentLsn(primary: PostgresServer): Promise<string> {
  return withClient(primary.url(), async (c) => (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn);
}

/** Bytes of WAL the replica has yet to replay to reach `lsn` (never negative). */
async function bytesBehind(replica: PostgresServer, lsn: string): Promise<number> {
  return withClient(replica.url(), async (c) => {
    const { rows } = await c.query<{ behind: string | null }>(
      'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS behind',
      [lsn],
    );
    const behind = rows[0]?.behind;
    if (behind === null || behind === undefined) throw new Error(`${replica.dataDir} is not a standby`);
    return Math.max(0, Number(behind));
  });
}

/** How far a replica's replay is behind its primary's current WAL position, or null when either is unreachable. */
export async function replayLagBytes(primary: PostgresServer, replica: PostgresServer): Promise<number | null> {
  try {
    return await bytesBehind(replica, await currentLsn(primary));
  } catch {
    return null;
  }
}

/** Wait until every replica has replayed its primary's WAL as of now; gives up after `stallMs` without progress. */
export async function waitForReplicas(fleet: Fleet, stallMs = 60_000): Promise<void> {
  // Once one cluster fails, the others stop polling: the caller is about to stop them all.
  let failed = false;
  const waitFor = async (cluster: LabCluster) => {
    if (cluster.replicas.length === 0) return;
    const target = await currentLsn(cluster.primary);
    for (const { id, server } of cluster.replicas) {
      let best = Number.POSITIVE_INFINITY;
      let progressAt = Date.now();
      for (;;) {
        if (failed) return;
        const behind = await bytesBehind(server, target).catch(() => best);
        if (behind === 0) break;
        if (behind < best) [best, progressAt] = [behind, Date.now()];
        if (Date.now() - progressAt > stallMs) {
          throw new Error(`replica ${id} stopped catching up with ${cluster.id} (${best} bytes behind); see ${server.logFile}`);
        }
        await sleep(100);
      }
    }
  };
  await Promise.all(
    fleet.clusters.map((cluster) =>
      waitFor(cluster).catch((err) => {
        failed = true;
        throw err;
      }),
    ),
  );
}
