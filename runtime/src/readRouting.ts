// Reads on replicas. The control plane publishes each replica's state; only `healthy`
// ones take reads, spread round-robin, and the primary takes them when none is left.
//
// A read that cannot reach its replica (refused, reset, a server shutting down or still
// starting, a hot-standby conflict) runs once more elsewhere, and that replica is left
// out here until the control plane publishes replica states again or SUSPECT_MS pass:
// longer than the health checker takes to call a dead replica unreachable (3 probes a
// second apart by default), so a dead replica gets no read after its first failure.
//
// Read-your-writes: after a write, the org is pinned to the primary's WAL position at
// that moment (its insert LSN, after COMMIT) for PIN_MS. While pinned, a replica takes
// the org's reads only once it has shown, on the very session that reads, that its
// replay passed that position (every replica is checked for itself: GitLab's #413203
// unpinned once any one had). A replica that passed it is remembered for the pin. Other
// service instances honour the pin through a token (readToken / ReadOptions.after).
import { sqlState, withSession } from '@orgplane/kit';
import type pg from 'pg';
import { RuntimeError } from './errors.js';
import { claimedQuery, claimStatement } from './ownership.js';
import { SQLSTATE_ORG_MOVED, type WireCluster, type WireReplica, type WireReplicaHealth } from './wire.js';

/** How long a write pins its org's reads to replicas that replayed it. */
export const PIN_MS = 30_000;
/** How long a replica whose connection failed is left out by this runtime, at most. */
export const SUSPECT_MS = 5_000;

/** Why a read went to the primary. */
export type ReadFallbackReason = 'no_healthy_replica' | 'read_your_writes' | 'replica_failed' | 'replica_refused';

export interface ReadFallbackEvent {
  orgId: number;
  clusterId: string;
  reason: ReadFallbackReason;
}

/** Emitted before a read runs again elsewhere because its replica could not answer. */
export interface ReadRetryEvent {
  orgId: number;
  clusterId: string;
  replicaId: string;
  /** The replica the read goes to now, or null for the primary. */
  nextReplicaId: string | null;
  error: string;
}

export interface ReadOptions {
  /** A token from readToken() on another instance: the read sees that instance's write. */
  after?: string | null | undefined;
  /** As WriteOptions.fenceWaitMs: how long an OPF02 refusal may keep refreshing the map. */
  fenceWaitMs?: number;
}

interface Pin {
  lsn: bigint;
  expiresAt: number;
  /** Replicas that showed they replayed past `lsn`. */
  caughtUp: Set<string>;
}

interface ReplicaPool {
  url: string;
  pool: pg.Pool;
}

export interface ReadRouterHost {
  createPool(clusterId: string, url: string): pg.Pool;
  retire(label: string, pool: pg.Pool): void;
  fallback(event: ReadFallbackEvent): void;
  retrying(event: ReadRetryEvent): void;
  /** Counts each read by where it ran. */
  ranOn(target: 'replica' | 'primary'): void;
}

const NONE: readonly WireReplica[] = [];
/** Connection-level failures, and replica-only refusals that another server would not give. */
const RETRY_ELSEWHERE = new Set(['57P01', '57P02', '57P03', '40001', '53300']);

/** A failure another server would not give: the read may run once more elsewhere. */
function elsewhere(error: unknown): boolean {
  const state = sqlState(error);
  return state === undefined || state.startsWith('08') || RETRY_ELSEWHERE.has(state);
}

export class ReadRouter {
  private healthy = new Map<string, readonly WireReplica[]>();
  private readonly pools = new Map<string, ReplicaPool>();
  private readonly suspects = new Map<string, number>();
  private readonly pins = new Map<number, Pin>();
  private next = 0;

  constructor(private readonly host: ReadRouterHost) {}

  /** Rebuild the rotation from the cluster list and the published health; ends pools of replicas gone. */
  update(clusters: readonly WireCluster[], health: readonly WireReplicaHealth[] | undefined): void {
    const healthyIds = new Set((health ?? []).filter((h) => h.state === 'healthy').map((h) => h.id));
    const rotation = new Map<string, readonly WireReplica[]>();
    const urls = new Map<string, string>();
    for (const cluster of clusters) {
      for (const r of cluster.replicas) urls.set(r.id, r.url);
      const serving = cluster.replicas.filter((r) => healthyIds.has(r.id));
      if (serving.length > 0) rotation.set(cluster.id, serving);
    }
    this.healthy = rotation;
    // The published states are newer than what this runtime suspected.
    this.suspects.clear();
    for (const [id, entry] of this.pools) {
      if (urls.get(id) !== entry.url) {
        this.pools.delete(id);
        this.host.retire(`replica ${id}`, entry.pool);
      }
    }
  }

  /** Healthy replicas of the cluster, as published. */
  replicasOf(clusterId: string): readonly WireReplica[] {
    return this.healthy.get(clusterId) ?? NONE;
  }

  /**
   * A replica pool for `pool(orgId, {intent: 'read'})`, or null for the primary. Only a
   * replica already known to have replayed the org's pinned write qualifies while pinned.
   */
  choose(orgId: number, clusterId: string, now: number, after: Pin | undefined): pg.Pool | null {
    const replicas = this.healthy.get(clusterId);
    if (replicas === undefined) {
      this.host.fallback({ orgId, clusterId, reason: 'no_healthy_replica' });
      return null;
    }
    const pin = this.pinOf(orgId, now, after);
    const n = replicas.length;
    const start = this.next++ % n;
    for (let i = 0; i < n; i++) {
      const replica = replicas[(start + i) % n]!;
      if (this.suspects.size > 0 && this.isSuspect(replica.id, now)) continue;
      if (pin !== undefined && !pin.caughtUp.has(replica.id)) continue;
      return this.poolOf(clusterId, replica);
    }
    this.host.fallback({ orgId, clusterId, reason: pin === undefined ? 'replica_failed' : 'read_your_writes' });
    return null;
  }

  /**
   * One read on the org's cluster: a healthy replica that replayed the pinned write, else
   * the primary; once more elsewhere if a replica's connection fails. The ownership check
   * runs first on the session that reads (OPF02 propagates to the caller's retry).
   */
  async read<R extends pg.QueryResultRow>(
    orgId: number,
    clusterId: string,
    primary: pg.Pool,
    text: string,
    values: unknown[] | undefined,
    now: number,
    after: Pin | undefined,
  ): Promise<pg.QueryResult<R>> {
    const pin = this.pinOf(orgId, now, after);
    const replicas = this.healthy.get(clusterId) ?? NONE;
    const n = replicas.length;
    const start = n === 0 ? 0 : this.next++ % n;
    let failedOnce = false;
    let behind = false;
    let refused = false;
    for (let i = 0; i < n; i++) {
      const replica = replicas[(start + i) % n]!;
      if (this.isSuspect(replica.id, now)) continue;
      const outcome = await this.tryReplica<R>(orgId, clusterId, replica, text, values, pin);
      if (outcome.kind === 'done') {
        this.host.ranOn('replica');
        return outcome.result;
      }
      if (outcome.kind === 'behind') {
        behind = true;
        continue;
      }
      if (outcome.kind === 'refused') {
        refused = true;
        continue;
      }
      // The connection failed: remember it, and try the next one (or the primary) once.
      this.suspects.set(replica.id, now + SUSPECT_MS);
      const nextReplica = this.nextCandidate(replicas, start, i, now);
      if (failedOnce) throw outcome.error;
      failedOnce = true;
      this.host.retrying({ orgId, clusterId, replicaId: replica.id, nextReplicaId: nextReplica?.id ?? null, error: outcome.error.message });
    }
    this.host.fallback({
      orgId,
      clusterId,
      reason:
        n === 0
          ? 'no_healthy_replica'
          : failedOnce
            ? 'replica_failed'
            : refused
              ? 'replica_refused'
              : behind
                ? 'read_your_writes'
                : 'replica_failed',
    });
    const result = await claimedQuery<R>(primary, orgId, text, values);
    this.host.ranOn('primary');
    return result;
  }

  /** The org's write position for the pin (after a write on its primary). */
  pin(orgId: number, lsn: bigint, now: number): void {
    const existing = this.pins.get(orgId);
    if (existing !== undefined && existing.expiresAt > now && existing.lsn >= lsn) {
      existing.expiresAt = now + PIN_MS;
      return;
    }
    this.pins.set(orgId, { lsn, expiresAt: now + PIN_MS, caughtUp: new Set() });
    if (this.pins.size % 1024 === 0) this.sweep(now);
  }

  /** The org's pin as a token another instance can pass as ReadOptions.after; null when none. */
  token(orgId: number, now: number): string | null {
    const pin = this.pins.get(orgId);
    if (pin === undefined || pin.expiresAt <= now) return null;
    return formatReadToken(orgId, pin.lsn, pin.expiresAt);
  }

  /** Every pool it holds (for close()). */
  drain(): void {
    for (const [id, entry] of this.pools) this.host.retire(`replica ${id}`, entry.pool);
    this.pools.clear();
  }

  private pinOf(orgId: number, now: number, after: Pin | undefined): Pin | undefined {
    let pin = this.pins.size === 0 ? undefined : this.pins.get(orgId);
    if (pin !== undefined && pin.expiresAt <= now) {
      this.pins.delete(orgId);
      pin = undefined;
    }
    if (after === undefined || after.expiresAt <= now) return pin;
    if (pin !== undefined && pin.lsn >= after.lsn) return pin;
    // A newer write elsewhere: adopt it as this org's pin, so the replicas checked are remembered.
    const adopted: Pin = { lsn: after.lsn, expiresAt: Math.min(after.expiresAt, now + PIN_MS), caughtUp: new Set() };
    this.pins.set(orgId, adopted);
    return adopted;
  }

  private isSuspect(replicaId: string, now: number): boolean {
    const until = this.suspects.get(replicaId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.suspects.delete(replicaId);
    return false;
  }

  private nextCandidate(replicas: readonly WireReplica[], start: number, i: number, now: number): WireReplica | undefined {
    for (let j = i + 1; j < replicas.length; j++) {
      const r = replicas[(start + j) % replicas.length]!;
      if (!this.isSuspect(r.id, now)) return r;
    }
    return undefined;
  }

  private poolOf(clusterId: string, replica: WireReplica): pg.Pool {
    const existing = this.pools.get(replica.id);
    if (existing !== undefined && existing.url === replica.url) return existing.pool;
    if (existing !== undefined) this.host.retire(`replica ${replica.id}`, existing.pool);
    const pool = this.host.createPool(clusterId, replica.url);
    this.pools.set(replica.id, { url: replica.url, pool });
    return pool;
  }

  private async tryReplica<R extends pg.QueryResultRow>(
    orgId: number,
    clusterId: string,
    replica: WireReplica,
    text: string,
    values: unknown[] | undefined,
    pin: Pin | undefined,
  ): Promise<ReplicaOutcome<R>> {
    const pool = this.poolOf(clusterId, replica);
    // withSession destroys a session whose connection failed while it was out: a server
    // shutting down can send its FATAL between two of our queries.
    type Outcome = ReplicaOutcome<R>;
    return withSession<pg.PoolClient, Outcome>(pool, async (client, broken) => {
      try {
        if (pin !== undefined && !pin.caughtUp.has(replica.id)) {
          // The ownership check and the replay check in one round trip (simple protocol).
          const results = (await client.query(
            `${claimStatement(orgId)}; SELECT pg_last_wal_replay_lsn() >= '${formatLsn(pin.lsn)}'::pg_lsn AS caught_up`,
          )) as unknown as pg.QueryResult<{ caught_up: boolean | null }>[];
          if (results[1]?.rows[0]?.caught_up !== true) return { kind: 'behind' } as const;
          pin.caughtUp.add(replica.id);
        } else {
          await client.query(claimStatement(orgId));
        }
        return { kind: 'done', result: await client.query<R>(text, values) } as const;
      } catch (error) {
        // A replica refusing the org (OPF02) may only be behind its primary: a rollback or
        // an aborted move serves the org there again before the replica replays it, and the
        // map will not change to send the read elsewhere. The primary's answer settles it:
        // its own OPF02 goes to the caller's retry, which refreshes the map.
        if (sqlState(error) === SQLSTATE_ORG_MOVED) return { kind: 'refused' } as const;
        // The session is not given back after a failure of the connection or the server.
        if (elsewhere(error)) {
          broken(asError(error));
          return { kind: 'failed', error: asError(error) } as const;
        }
        throw error;
      }
    }).catch((error: unknown) => {
      // pool.connect() itself failed (refused, or a server starting or shutting down).
      if (elsewhere(error)) return { kind: 'failed', error: asError(error) } as const;
      throw error;
    });
  }

  private sweep(now: number): void {
    for (const [orgId, pin] of this.pins) if (pin.expiresAt <= now) this.pins.delete(orgId);
  }
}

/** What one replica made of a read: its answer, not caught up, refused the org, or failed. */
type ReplicaOutcome<R extends pg.QueryResultRow> =
  | { kind: 'done'; result: pg.QueryResult<R> }
  | { kind: 'behind' }
  | { kind: 'refused' }
  | { kind: 'failed'; error: Error };

/** `rw1.<orgId>.<lsn hex>.<expires at, ms since the epoch>`: no secret, safe in a header or cookie. */
export function formatReadToken(orgId: number, lsn: bigint, expiresAt: number): string {
  return `rw1.${orgId}.${lsn.toString(16)}.${expiresAt}`;
}

/** The pin a token carries for `orgId`; INVALID_ARGUMENT when it is not a token for that org. */
export function parseReadToken(token: string, orgId: number): Pin {
  const match = typeof token === 'string' ? /^rw1\.(\d{1,16})\.([0-9a-f]{1,16})\.(\d{1,16})$/.exec(token) : null;
  if (!match) {
    throw new RuntimeError('INVALID_ARGUMENT', 'runtime.read: `after` is not a read token', {
      hint: 'pass the string runtime.readToken(orgId) returned after the write, or nothing',
    });
  }
  if (Number(match[1]) !== orgId) {
    throw new RuntimeError('INVALID_ARGUMENT', `runtime.read: the read token is for org ${match[1]}, not ${orgId}`);
  }
  return { lsn: BigInt(`0x${match[2]}`), expiresAt: Number(match[3]), caughtUp: new Set() };
}

/** The primary's WAL insert position: past every commit record written before it. */
export const WAL_POSITION_SQL = 'SELECT pg_current_wal_insert_lsn()::text AS lsn';

export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
