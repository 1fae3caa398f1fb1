// The health checker. One control-plane instance runs it: the one holding its advisory
// lock (LeaderLock, shared with the move executor and the SLO gates). Every tick it
// probes each cluster's primary for its WAL position, then each replica, on fresh
// connections with short connect and statement timeouts; it writes the figures, and
// commits the replicas whose state changed as one config change (replicaHealthRules.ts
// decides the states).
import pg from 'pg';
import { LeaderLock } from '../../db/LeaderLock.js';
import { Ticker } from '../../db/Ticker.js';
import type { Logger } from '../../logger.js';
import type { ReplicaHealthService, StateChange } from './ReplicaHealthService.js';
import type { ProbeFigures, ReplicaHealthRecord, ReplicaHealthStore } from './ReplicaHealthStore.js';
import { type HealthSettings, judge, newTracker, type Probe, parseLsn, type Tracker } from './replicaHealthRules.js';

/** pg_try_advisory_lock key of the health checker; distinct from every other worker's. */
export const REPLICA_HEALTH_LOCK_KEY = 7_364_100_003;

export interface LastProbe {
  id: string;
  clusterId: string;
  state: ReplicaHealthRecord['state'];
  lagSeconds: number | null;
  lagBytes: number | null;
}

export interface ReplicaHealthWorkerOptions {
  databaseUrl: string;
  store: ReplicaHealthStore;
  service: ReplicaHealthService;
  log: Logger;
  /** Between the starts of two probe rounds (default 1 s). */
  probeIntervalMs?: number;
  lockKey?: number;
}

export class ReplicaHealthWorker {
  private readonly lock: LeaderLock;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly trackers = new Map<string, Tracker>();
  private latest: LastProbe[] = [];
  private readonly ticker: Ticker;

  constructor(private readonly options: ReplicaHealthWorkerOptions) {
    this.intervalMs = options.probeIntervalMs ?? 1000;
    this.log = options.log.child({ component: 'replica-health' });
    this.ticker = new Ticker(
      this.intervalMs,
      () => this.round(),
      (err) => this.log.warn({ err }, 'replica health: a probe round failed; trying again next tick'),
    );
    this.lock = new LeaderLock({
      databaseUrl: options.databaseUrl,
      key: options.lockKey ?? REPLICA_HEALTH_LOCK_KEY,
      applicationName: 'orgplane-replica-health',
      log: this.log,
      onAcquired: async () => {
        // A new leader starts from the published states, not from another's memory.
        this.trackers.clear();
        this.log.info('replica health: took the lock; this instance probes the replicas');
      },
      onLost: () => {
        this.latest = [];
      },
    });
  }

  get isLeader(): boolean {
    return this.lock.isLeader;
  }

  /** The last probe of every replica, while this instance is the leader (the metrics read it). */
  lastProbes(): readonly LastProbe[] {
    return this.lock.isLeader ? this.latest : [];
  }

  start(): void {
    this.ticker.start();
  }

  async stop(): Promise<void> {
    await this.ticker.stop();
    await this.lock.release();
  }

  /** One round; rounds never overlap (a slow round skips the ticks it overlaps). Exposed for tests. */
  tick(): Promise<void> {
    return this.ticker.tick();
  }

  private async round(): Promise<void> {
    if (this.ticker.stopped || !(await this.lock.acquire())) return;
    const settings = await this.options.store.settings();
    const replicas = await this.options.store.list();
    const primaryLsns = new Map<string, Promise<bigint | null>>();
    for (const r of replicas) {
      if (!primaryLsns.has(r.clusterId)) primaryLsns.set(r.clusterId, primaryLsn(r.primaryUrl, settings.probeTimeoutMs));
    }
    const probes = await Promise.all(
      replicas.map(async (r) => probeReplica(r.url, (await primaryLsns.get(r.clusterId))!, settings.probeTimeoutMs)),
    );
    const figures: ProbeFigures[] = [];
    const changes: StateChange[] = [];
    const latest: LastProbe[] = [];
    const seen = new Set<string>();
    for (const [i, replica] of replicas.entries()) {
      const probe = probes[i]!;
      seen.add(replica.id);
      const before = this.trackers.get(replica.id) ?? newTracker(replica.probedState);
      const { tracker, lag } = judge(before, probe, settings);
      this.trackers.set(replica.id, tracker);
      figures.push({
        id: replica.id,
        lagSeconds: lag.seconds,
        lagBytes: lag.bytes,
        checkedAt: new Date(),
        probeError: probe.ok ? null : probe.error,
      });
      if (tracker.state !== replica.probedState) {
        changes.push({ id: replica.id, from: replica.probedState, to: tracker.state, why: describe(probe, lag, tracker, settings) });
      }
      latest.push({
        id: replica.id,
        clusterId: replica.clusterId,
        state: replica.drained ? 'draining' : tracker.state,
        lagSeconds: lag.seconds,
        lagBytes: lag.bytes,
      });
    }
    for (const id of this.trackers.keys()) if (!seen.has(id)) this.trackers.delete(id);
    await this.options.store.recordProbes(figures);
    this.latest = latest;
    // Another instance may have taken over while we probed: it publishes, not us.
    if (changes.length > 0 && (await this.lock.stillLeader())) {
      const version = await this.options.service.applyStates(changes);
      if (version !== null) this.log.info({ changes, version }, 'replica health: state changed');
    }
  }
}

function describe(probe: Probe, lag: { seconds: number | null; bytes: number | null }, tracker: Tracker, settings: HealthSettings): string {
  if (!probe.ok) return `${tracker.failures} failed probes in a row (>= ${settings.unreachableAfterProbes}): ${probe.error}`;
  if (!probe.inRecovery) return 'not in recovery: it was promoted';
  return `lag ${lag.seconds === null ? '?' : lag.seconds.toFixed(1)} s, ${lag.bytes ?? '?'} bytes`;
}

function client(url: string, timeoutMs: number): pg.Client {
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'orgplane-replica-health',
  });
  c.on('error', () => {});
  return c;
}

async function primaryLsn(url: string, timeoutMs: number): Promise<bigint | null> {
  const c = client(url, timeoutMs);
  try {
    await c.connect();
    const { rows } = await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return parseLsn(rows[0]!.lsn);
  } catch {
    return null;
  } finally {
    await c.end().catch(() => {});
  }
}

async function probeReplica(url: string, primary: bigint | null, timeoutMs: number): Promise<Probe> {
  const c = client(url, timeoutMs);
  try {
    await c.connect();
    const { rows } = await c.query<{
      in_recovery: boolean;
      receive: string | null;
      replay: string | null;
      replay_ts_ms: number | null;
      now_ms: number;
    }>(
      `SELECT pg_is_in_recovery() AS in_recovery, pg_last_wal_receive_lsn()::text AS receive,
              pg_last_wal_replay_lsn()::text AS replay,
              (extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)::float8 AS replay_ts_ms,
              (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms`,
    );
    const row = rows[0]!;
    return {
      ok: true,
      inRecovery: row.in_recovery,
      primaryLsn: primary,
      receiveLsn: parseLsn(row.receive),
      replayLsn: parseLsn(row.replay),
      replayTimestampMs: row.replay_ts_ms,
      nowMs: row.now_ms,
    };
  } catch (error) {
    // The message only: a pg error never carries the URL, and no secret goes to the DB.
    return { ok: false, error: (error as Error).message?.slice(0, 200) || 'probe failed' };
  } finally {
    await c.end().catch(() => {});
  }
}
