// The runtime a service embeds: follows the control plane's config, keeps the last good
// config on disk, routes org ids, and hands out one pg pool per cluster. Nothing on the
// request path does I/O; nothing in the background throws.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { inTransaction } from '@orgplane/kit';
import pg from 'pg';
import { Registry } from 'prom-client';
import type { PinSource } from './compactSnapshot.js';
import { ConfigClient } from './configClient.js';
import { DiskCache } from './diskCache.js';
import { RuntimeError } from './errors.js';
import {
  DEFAULT_FENCE_WAIT_MS,
  DEFAULT_REFRESH_TIMEOUT_MS,
  type FenceHost,
  type WriteOptions,
  type WriteRetryEvent,
  withFenceRetry,
} from './fencedWrites.js';
import { FlagSet, INVALID_ORG_ID } from './flags.js';
import { type ConfigSource, createRuntimeMetrics, type RuntimeMetrics } from './metrics.js';
import { claimedQuery, claimStatement } from './ownership.js';
import {
  parseLsn,
  parseReadToken,
  type ReadFallbackEvent,
  type ReadOptions,
  type ReadRetryEvent,
  ReadRouter,
  WAL_POSITION_SQL,
} from './readRouting.js';
import { Router } from './router.js';
import type { ConfigDelta, ConfigSnapshot, WirePlacement, WireRateLimitPolicy } from './wire.js';

export type { ConfigSource } from './metrics.js';

export interface Credentials {
  user?: string;
  password?: string;
}

export interface RuntimeOptions {
  /** Control-plane base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** A token with the sdk:read scope. */
  token: string;
  /** Where to keep the last good config (`orgplane-config.json`); no disk cache when omitted. */
  cacheDir?: string;
  /** Database credentials: the config's URLs carry none. A function is asked once per cluster pool. */
  credentials?: Credentials | ((clusterId: string) => Credentials);
  /** Registry for the runtime's metrics; a new one (runtime.metrics) when omitted. */
  registry?: Registry;
  fetch?: typeof fetch;
  /** Reconnect when the watch stream is silent this long (default 45 s). */
  heartbeatTimeoutMs?: number;
  /** Passed to every pg.Pool (connectionString, user and password are set by the runtime). */
  poolOptions?: pg.PoolConfig;
  /** Backoff between reconnects: full jitter on base * 2^attempt, capped (default 100 ms, 30 s). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Delay before writing the disk cache after a change (default 250 ms). */
  cacheDebounceMs?: number;
  /** How long transaction() and query() wait out a move's fence, per write (default 2 s). */
  fenceWaitMs?: number;
  /** How long a write refused with OPF02 waits for `GET /v1/config` (default 2 s). */
  refreshTimeoutMs?: number;
}

export type Intent = 'read' | 'write';

export interface RuntimeEvents {
  ready: [];
  snapshot: [{ version: number; source: ConfigSource }];
  change: [{ version: number; action: string }];
  connected: [];
  disconnected: [{ reason: string }];
  error: [RuntimeError];
  /** A write refused because of a move is about to run again (transaction(), query()). */
  'write-retry': [WriteRetryEvent];
  /** isEnabled() could not decide and answered the caller's fallback (it never throws). */
  'flag-error': [FlagErrorEvent];
  /** A read went to the primary: no healthy replica, none replayed the org's last write, or its replica failed. */
  'read-fallback': [ReadFallbackEvent];
  /** A read runs again elsewhere because the connection to its replica failed. */
  'read-retry': [ReadRetryEvent];
}

/** Why isEnabled() answered the fallback for a flag the config does describe. */
export type FlagErrorReason = 'invalid_org_id';

export interface FlagErrorEvent {
  flag: string;
  /** What the caller passed as `context.orgId`, as is. */
  orgId: unknown;
  reason: FlagErrorReason;
  /** The answer isEnabled() gave: the caller's fallback. */
  fallback: boolean;
}

interface PoolEntry {
  url: string;
  pool: pg.Pool;
}

interface Waiter {
  resolve(): void;
  reject(error: RuntimeError): void;
}

export class Runtime extends EventEmitter<RuntimeEvents> {
  /** The registry holding the runtime's metrics (the one passed in, or its own). */
  readonly metrics: Registry;
  private readonly router = new Router();
  private readonly client: ConfigClient;
  private readonly cache: DiskCache | undefined;
  private readonly counters: RuntimeMetrics;
  private readonly pools = new Map<string, PoolEntry>();
  private readonly retiring = new Set<Promise<void>>();
  private flags = FlagSet.EMPTY;
  /** isEnabled() counts in plain numbers; the metrics read them at scrape time. */
  private flagEvaluations = 0;
  private flagFallbacks = 0;
  private meta: Omit<ConfigSnapshot, 'placements' | 'clusters' | 'ranges' | 'rollouts' | 'cohorts'> | undefined;
  private configSource: ConfigSource | null = null;
  private lastCurrentAt: number | undefined;
  private isReady = false;
  private fatal: RuntimeError | undefined;
  private waiters = new Set<Waiter>();
  private closing: Promise<void> | undefined;
  /** The `GET /v1/config` in flight for writers refused with OPF02, and when it started. */
  private refresh: { startedAt: number; done: Promise<unknown> } | undefined;
  private readonly fenceHost: FenceHost;
  /** Replica rotation, replica pools and read-your-writes pins (readRouting.ts). */
  private readonly reads: ReadRouter;

  constructor(private readonly options: RuntimeOptions) {
    super();
    if (typeof options?.url !== 'string' || options.url === '') throw invalidArgument('createRuntime: `url` is required');
    if (typeof options.token !== 'string' || options.token === '') throw invalidArgument('createRuntime: `token` is required');
    this.metrics = options.registry ?? new Registry();
    this.counters = createRuntimeMetrics(this.metrics, {
      version: () => this.version,
      stalenessSeconds: () => this.stalenessSeconds(),
      source: () => this.source,
      flagEvaluations: () => this.flagEvaluations,
      flagFallbacks: () => this.flagFallbacks,
    });
    this.cache =
      options.cacheDir === undefined
        ? undefined
        : new DiskCache({ dir: options.cacheDir, debounceMs: options.cacheDebounceMs, onError: (e) => this.report(e) });
    this.client = new ConfigClient(
      {
        url: options.url,
        token: options.token,
        fetch: options.fetch,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs,
        backoffBaseMs: options.backoffBaseMs,
        backoffCapMs: options.backoffCapMs,
      },
      {
        version: () => this.version,
        applySnapshot: (snapshot, pins) => this.install(snapshot, 'network', pins),
        applyDelta: (delta) => this.applyChange(delta),
        current: () => {
          this.lastCurrentAt = performance.now();
        },
        connected: () => this.safeEmit('connected'),
        disconnected: (reason) => this.safeEmit('disconnected', { reason }),
        reconnecting: () => this.counters.reconnects.inc(),
        error: (error) => this.report(error),
      },
    );
    this.fenceHost = {
      writeTarget: (orgId) => this.writeTarget(orgId),
      refreshAfter: (errorAt) => this.refreshAfter(errorAt),
      route: (orgId) => this.route(orgId),
      retrying: (event) => {
        this.counters.writeRetries.inc({ reason: event.reason });
        this.safeEmit('write-retry', event);
      },
      gaveUp: (reason) => this.counters.writeFailures.inc({ reason }),
      random: Math.random,
    };
    this.reads = new ReadRouter({
      createPool: (clusterId, url) => this.createPool(clusterId, url),
      retire: (label, pool) => this.retire(label, { url: '', pool }),
      fallback: (event) => {
        this.counters.readFallbacks.inc({ reason: event.reason });
        if (this.listenerCount('read-fallback') > 0) this.safeEmit('read-fallback', event);
      },
      retrying: (event) => {
        this.counters.readRetries.inc();
        this.safeEmit('read-retry', event);
      },
      ranOn: (target) => this.counters.reads.inc({ target }),
    });
    void this.start();
  }

  /** Config version in use, or null before the first config is loaded. */
  get version(): number | null {
    return this.meta?.version ?? null;
  }

  /**
   * The request guards' config at the version in use (`@orgplane/runtime/guards` reads it on
   * every request): empty lists before the first config or from a control plane without it.
   */
  guardConfig(): { rateLimits: readonly WireRateLimitPolicy[]; corsOrigins: readonly string[] } {
    return { rateLimits: this.meta?.rateLimits ?? [], corsOrigins: this.meta?.corsOrigins ?? [] };
  }

  /** Where the config in use came from; null before the first one. */
  get source(): ConfigSource | null {
    return this.configSource;
  }

  /**
   * Seconds since the control plane last confirmed that the config in use is current (a
   * snapshot, a change, or a heartbeat at our version). Infinity when it never has in this
   * process: before any config, or while serving a disk cache the control plane has not
   * confirmed yet. It grows while disconnected.
   */
  stalenessSeconds(): number {
    return this.lastCurrentAt === undefined ? Number.POSITIVE_INFINITY : (performance.now() - this.lastCurrentAt) / 1000;
  }

  /**
   * Resolves once a config is loaded (from the network or the disk cache). Rejects with
   * NOT_READY after `timeoutMs`, AUTH_FAILED if the control plane refuses the token first,
   * CLOSED if the runtime is closed first.
   */
  ready(timeoutMs?: number): Promise<void> {
    if (this.isReady) return Promise.resolve();
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closing) return Promise.reject(closedError());
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new RuntimeError('NOT_READY', `runtime: no config after ${timeoutMs} ms`, { hint: 'is the control plane reachable?' }));
        }, timeoutMs);
        timer.unref();
      }
    });
  }

  /** Cluster id serving `orgId`. Throws INVALID_ORG_ID, NO_ROUTE, or NOT_READY before the first config. */
  route(orgId: number): string {
    if (this.meta === undefined) throw notReady();
    return this.router.route(orgId);
  }

  /** The org's pin (with its state and epoch), or undefined when it follows its range. */
  placement(orgId: number): WirePlacement | undefined {
    if (this.meta === undefined) throw notReady();
    return this.router.placement(orgId);
  }

  /**
   * Whether rollout `flag` is on for the org, from the config in memory: no I/O, no
   * allocation. Never throws, like Unleash's isEnabled: it answers `fallback` (default
   * false) when the flag is unknown, when no config is loaded yet, and when a known flag is
   * asked about an org id the shard map could not hold (not a non-negative safe integer);
   * that last case is a caller bug, reported as a `flag-error` event and counted in
   * orgplane_runtime_flag_errors_total{reason="invalid_org_id"}. (route() does throw
   * InvalidOrgIdError: there is no fallback cluster.)
   */
  isEnabled(flag: string, context: { orgId: number }, fallback = false): boolean {
    this.flagEvaluations++;
    // Before the first config the set is empty, so every flag is unknown.
    const orgId = context?.orgId;
    const decision = this.flags.decide(flag, orgId);
    if (decision >= 0) return decision === 1;
    this.flagFallbacks++;
    if (decision === INVALID_ORG_ID) {
      this.counters.flagErrors.inc({ reason: 'invalid_org_id' });
      if (this.listenerCount('flag-error') > 0) this.safeEmit('flag-error', { flag, orgId, reason: 'invalid_org_id', fallback });
    }
    return fallback;
  }

  /**
   * A pg pool for `orgId`: `write` is its cluster's primary (one pool per cluster);
   * `read` is a healthy replica of that cluster (round-robin over the healthy ones, one
   * pool per replica), else the primary, counted in orgplane_runtime_read_fallbacks_total
   * and emitted as `read-fallback`. While the org is pinned by a recent write (read-your-
   * writes, below), only a replica already seen past that write qualifies. The caller runs
   * the ownership check itself on a pool it got here; runtime.read() does it all.
   */
  pool(orgId: number, options: { intent: Intent; after?: string | null }): pg.Pool {
    if (this.closing) throw closedError();
    const intent = options?.intent;
    if (intent === 'write') return this.primaryPool(orgId, this.route(orgId));
    if (intent !== 'read') throw invalidArgument(`runtime.pool: intent must be 'read' or 'write', not ${String(intent)}`);
    const clusterId = this.route(orgId);
    const after = options.after ? parseReadToken(options.after, orgId) : undefined;
    return this.reads.choose(orgId, clusterId, Date.now(), after) ?? this.primaryPool(orgId, clusterId);
  }

  /**
   * One read of the org's rows, on a healthy replica of its cluster, else its primary,
   * after the ownership check on the session that reads (OPF02 refreshes the map and
   * runs the read on the new owner, as for writes). When the connection to the replica
   * fails, the read runs once more on another healthy replica or on the primary.
   *
   * Read-your-writes: for 30 s after a write of this org through transaction() or
   * query() in this runtime, the read goes only to a replica that has replayed past the
   * write (each replica checked for itself, in the round trip of the ownership check),
   * else to the primary. Another instance of the service honours a write made here when
   * the caller carries `readToken(orgId)` to it (a header or a cookie) and passes it as
   * `options.after`.
   */
  // biome-ignore lint/suspicious/noExplicitAny: pg's own default row type
  read<R extends pg.QueryResultRow = any>(
    orgId: number,
    text: string,
    values?: unknown[],
    options: ReadOptions = {},
  ): Promise<pg.QueryResult<R>> {
    if (typeof text !== 'string') return Promise.reject(invalidArgument('runtime.read: text must be a string'));
    let after: ReturnType<typeof parseReadToken> | undefined;
    try {
      after = options?.after ? parseReadToken(options.after, orgId) : undefined;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.fencedWrite(orgId, options, (primary, clusterId) =>
      this.reads.read<R>(orgId, clusterId, primary, text, values, Date.now(), after),
    );
  }

  /**
   * The org's read-your-writes pin as a string (`rw1.<org>.<lsn>.<expiry>`, no secret) for
   * another instance's read(…, {after}); null when no write of the org is pinned here.
   */
  readToken(orgId: number): string | null {
    return this.reads.token(orgId, Date.now());
  }

  /**
   * Runs `fn` in a transaction on the primary that owns `orgId` (BEGIN, fn, COMMIT;
   * ROLLBACK when it throws) and resolves with what `fn` returned. The cluster first
   * confirms that it serves the org, in the same round trip as BEGIN, so a stale map
   * never gets a wrong answer (an UPDATE of zero rows, an empty read). When the cluster
   * refuses the org because of a move, the whole transaction runs again from the start:
   * - OPF02 (the org is not served there): the map is refreshed (`GET /v1/config` unless
   *   the watch stream already brought the new owner; again with a backoff while the
   *   control plane has not published the flip yet, within `fenceWaitMs`) and `fn` runs
   *   once more on the new owner; OrgMovedError when the control plane cannot be
   *   reached, when it still routes the org to the same cluster once `fenceWaitMs` is
   *   spent, or when the new owner refuses too;
   * - OPF01 (a cutover holds the org): it waits and retries until `fenceWaitMs` (default
   *   the runtime's, 2 s) is spent, then OrgFencedError.
   * Nothing of a refused attempt is committed, but `fn` must be safe to run again: no
   * side effects outside the transaction (send the email after this resolves), and it
   * must let errors from `client.query` propagate. Any other error is thrown as is,
   * without a retry. Each retry emits `write-retry`.
   */
  transaction<T>(orgId: number, fn: (client: pg.PoolClient) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(invalidArgument('runtime.transaction: fn must be a function'));
    return this.fencedWrite(orgId, options, (pool, clusterId) =>
      inTransaction(pool, fn, {
        withBegin: claimStatement(orgId),
        // Read-your-writes: the WAL position the commit reached, in the COMMIT's round trip.
        withCommit: this.hasReplicas(clusterId)
          ? { statement: WAL_POSITION_SQL, result: (rows) => this.pinAt(orgId, rows[0]?.lsn) }
          : undefined,
      }),
    );
  }

  /**
   * One statement on the primary that owns `orgId`, in its own (implicit) transaction,
   * after the same ownership check as transaction() (one more round trip) and with the
   * same retries. Reads that may go to a replica: read().
   */
  // biome-ignore lint/suspicious/noExplicitAny: pg's own default row type
  query<R extends pg.QueryResultRow = any>(
    orgId: number,
    text: string,
    values?: unknown[],
    options: WriteOptions = {},
  ): Promise<pg.QueryResult<R>> {
    if (typeof text !== 'string') return Promise.reject(invalidArgument('runtime.query: text must be a string'));
    return this.pinAfter(
      orgId,
      this.fencedWrite(orgId, options, (pool) => claimedQuery<R>(pool, orgId, text, values)),
    );
  }

  /** Pins the org's reads to replicas past `lsn`; an unreadable position pins them to the primary. */
  private pinAt(orgId: number, lsn: unknown): void {
    let position = 0xffffffffffffffffn;
    try {
      position = parseLsn(String(lsn));
    } catch {
      // Unknown position: no replica can prove it replayed it, so reads stay on the primary.
    }
    this.reads.pin(orgId, position, Date.now());
  }

  private hasReplicas(clusterId: string): boolean {
    return (this.router.cluster(clusterId)?.replicas.length ?? 0) > 0;
  }

  /**
   * Read-your-writes for query(): once the statement resolved, pin the org to its
   * primary's insert position, which is past the statement's commit record. One more
   * round trip, only on clusters with replicas (transaction() reads it in the COMMIT's
   * round trip instead). When it fails the org is pinned to the primary for the whole pin.
   */
  private async pinAfter<T>(orgId: number, write: Promise<T>): Promise<T> {
    const result = await write;
    const cluster = this.router.cluster(this.route(orgId));
    if (cluster === undefined || cluster.replicas.length === 0) return result;
    let lsn: unknown;
    try {
      lsn = (await this.primaryPool(orgId, cluster.id).query<{ lsn: string }>(WAL_POSITION_SQL)).rows[0]?.lsn;
    } catch {
      // pinAt pins the org to the primary when the position is unknown.
    }
    this.pinAt(orgId, lsn);
    return result;
  }

  private async fencedWrite<T>(
    orgId: number,
    options: WriteOptions,
    attempt: (pool: pg.Pool, clusterId: string) => Promise<T>,
  ): Promise<T> {
    const fenceWaitMs = options?.fenceWaitMs ?? this.options.fenceWaitMs ?? DEFAULT_FENCE_WAIT_MS;
    if (typeof fenceWaitMs !== 'number' || !(fenceWaitMs >= 0)) {
      throw invalidArgument(`fenceWaitMs must be a non-negative number of milliseconds, not ${String(fenceWaitMs)}`);
    }
    return withFenceRetry(this.fenceHost, orgId, fenceWaitMs, attempt);
  }

  private writeTarget(orgId: number): { clusterId: string; pool: pg.Pool } {
    if (this.closing) throw closedError();
    const clusterId = this.route(orgId);
    return { clusterId, pool: this.primaryPool(orgId, clusterId) };
  }

  private primaryPool(orgId: number, clusterId: string): pg.Pool {
    const cluster = this.router.cluster(clusterId);
    if (cluster === undefined) {
      throw new RuntimeError('CLUSTER_UNKNOWN', `org ${orgId} routes to cluster ${clusterId}, which the config does not describe`);
    }
    const existing = this.pools.get(clusterId);
    if (existing?.url === cluster.primary.url) return existing.pool;
    if (existing) this.retire(clusterId, existing);
    const pool = this.createPool(clusterId, cluster.primary.url);
    this.pools.set(clusterId, { url: cluster.primary.url, pool });
    return pool;
  }

  /**
   * Brings the map up to the control plane's as of `errorAt` (performance.now()): joins a
   * `GET /v1/config` started after then, else waits for the older one and starts another.
   * Resolves with the error when the fetch failed (it is reported too); never rejects.
   */
  private async refreshAfter(errorAt: number): Promise<unknown> {
    while (this.refresh !== undefined && this.refresh.startedAt < errorAt) await this.refresh.done;
    if (this.refresh === undefined) {
      const startedAt = performance.now();
      const done: Promise<unknown> = this.fetchNewerConfig()
        .then(
          () => undefined,
          (error: unknown) => error,
        )
        .finally(() => {
          if (this.refresh?.done === done) this.refresh = undefined;
        });
      this.refresh = { startedAt, done };
    }
    return this.refresh.done;
  }

  private async fetchNewerConfig(): Promise<void> {
    try {
      const { snapshot, pins } = await this.client.fetchConfig(this.options.refreshTimeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS);
      // The watch stream may have overtaken the fetch; never go back.
      if (!this.closing && (this.version === null || snapshot.version > this.version)) this.install(snapshot, 'network', pins);
    } catch (cause) {
      const error =
        cause instanceof RuntimeError
          ? cause
          : new RuntimeError('INVALID_CONFIG', `config fetch: the snapshot could not be applied: ${(cause as Error)?.message}`, { cause });
      this.report(error);
      throw error;
    }
  }

  /** Stops following the config, writes the disk cache, ends every pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    for (const waiter of this.waiters) waiter.reject(closedError());
    this.waiters.clear();
    await this.client.stop();
    await this.cache?.flush();
    for (const [clusterId, entry] of this.pools) this.retire(clusterId, entry);
    this.reads.drain();
    await Promise.all(this.retiring);
  }

  private async start(): Promise<void> {
    if (this.cache) {
      try {
        const cached = await this.cache.loadConfig();
        if (cached && !this.closing && this.meta === undefined) this.install(cached.snapshot, 'disk', cached.pins);
      } catch (error) {
        this.report(
          error instanceof RuntimeError && error.code === 'CACHE_CORRUPT'
            ? error
            : new RuntimeError('CACHE_CORRUPT', `config cache ${this.cache.path} is unusable; ignoring it: ${(error as Error).message}`, {
                cause: error,
              }),
        );
      }
    }
    if (!this.closing) this.client.start();
  }

  private install(snapshot: ConfigSnapshot, source: ConfigSource, pins?: PinSource): void {
    // Both validate before they change anything; the flags are swapped in only once the
    // router took the snapshot too.
    const flags = FlagSet.fromSnapshot(snapshot.rollouts, snapshot.cohorts);
    this.router.applySnapshot(snapshot, pins);
    this.flags = flags;
    const { placements: _p, clusters: _c, ranges: _r, rollouts: _ro, cohorts: _co, ...meta } = snapshot;
    this.meta = meta;
    this.configSource = source;
    if (source === 'network') {
      this.lastCurrentAt = performance.now();
      this.saveLater();
    }
    this.retireStalePools();
    this.reads.update(this.router.clusters(), snapshot.replicas);
    this.safeEmit('snapshot', { version: snapshot.version, source });
    this.becomeReady();
  }

  private applyChange(delta: ConfigDelta): void {
    const flags = this.flags.applyDelta(delta);
    this.router.applyDelta(delta);
    this.flags = flags;
    this.meta = { ...this.meta!, version: delta.version, ...(delta.replicas ? { replicas: delta.replicas } : {}) };
    if (delta.rateLimits !== undefined) this.meta.rateLimits = delta.rateLimits;
    if (delta.corsOrigins !== undefined) this.meta.corsOrigins = delta.corsOrigins;
    this.configSource = 'network';
    this.lastCurrentAt = performance.now();
    this.saveLater();
    if (delta.clusters) this.retireStalePools();
    if (delta.clusters || delta.replicas) this.reads.update(this.router.clusters(), this.meta.replicas);
    this.safeEmit('change', { version: delta.version, action: delta.action });
  }

  private saveLater(): void {
    this.cache?.schedule(() => ({
      snapshot: {
        ...this.meta!,
        clusters: [...this.router.clusters()],
        ranges: [...this.router.ranges()],
        rollouts: this.flags.rollouts(),
        cohorts: this.flags.cohorts(),
      },
      pins: this.router.exportPins(),
    }));
  }

  private becomeReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
    this.safeEmit('ready');
  }

  private createPool(clusterId: string, url: string): pg.Pool {
    const supplied = typeof this.options.credentials === 'function' ? this.options.credentials(clusterId) : this.options.credentials;
    const { user, password, connectionString: _ignored, ...poolOptions } = this.options.poolOptions ?? {};
    const credentials = {
      user: supplied?.user ?? user,
      password: supplied?.password ?? (typeof password === 'string' ? password : undefined),
    };
    const pool = new pg.Pool({ ...poolOptions, ...connectionWithCredentials(url, credentials) });
    // An idle client's error (say, the server restarted) is emitted on the pool; unheard,
    // it would crash the host.
    pool.on('error', (cause) => {
      this.report(new RuntimeError('POOL_ERROR', `pool for cluster ${clusterId}: ${cause.message}`, { cause }));
    });
    // pg-pool listens on a client only while it is idle. A checked-out client whose server
    // goes away (a replica stopped under load) emits 'error' too; the runtime's own
    // sessions listen (kit's withSession), but a session a caller took through pool()
    // may not, and a late 'error' can come after a session was given back and removed.
    // Every client keeps this listener: its next query fails, which its caller sees.
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    return pool;
  }

  /** Ends pools whose cluster left the config or moved to another URL. */
  private retireStalePools(): void {
    for (const [clusterId, entry] of this.pools) {
      if (this.router.cluster(clusterId)?.primary.url !== entry.url) this.retire(clusterId, entry);
    }
  }

  /** pg's end() waits for checked-out clients to be released, so in-flight work finishes. */
  private retire(clusterId: string, entry: PoolEntry): void {
    if (this.pools.get(clusterId) === entry) this.pools.delete(clusterId);
    const ending: Promise<void> = entry.pool
      .end()
      .catch((cause: Error) => this.report(new RuntimeError('POOL_ERROR', `ending the pool for ${clusterId}: ${cause.message}`, { cause })))
      .finally(() => this.retiring.delete(ending));
    this.retiring.add(ending);
  }

  private report(error: RuntimeError): void {
    // Pool errors are the database's story (pg has its own signals); this counter is about config.
    if (error.code !== 'POOL_ERROR') this.counters.errors.inc({ code: error.code });
    if (error.code === 'AUTH_FAILED') this.failFatally(error);
    if (this.listenerCount('error') > 0) this.safeEmit('error', error);
    else if (error.code === 'AUTH_FAILED') process.emitWarning(error.message, { code: 'ORGPLANE_AUTH_FAILED', detail: error.hint });
  }

  private failFatally(error: RuntimeError): void {
    this.fatal = error;
    if (this.isReady) return;
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }

  /** A listener that throws is the host's bug; it must not break the config stream. */
  private safeEmit<K extends keyof RuntimeEvents>(event: K, ...args: RuntimeEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: RuntimeEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      process.emitWarning(`orgplane runtime: a '${String(event)}' listener threw: ${describeThrown(error)}`, {
        code: 'ORGPLANE_LISTENER_THREW',
      });
    }
  }
}

/** A listener may throw anything, even what String() cannot convert: never throw while describing it. */
function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'a value that cannot be printed';
  }
}

export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}

/**
 * pg lets the connection string's (empty) user and password override explicit ones, so the
 * credentials go into the URL itself, percent-encoded.
 */
export function connectionWithCredentials(url: string, credentials: Credentials): pg.PoolConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL (a socket path): pg does not override explicit fields then.
    return { connectionString: url, user: credentials.user, password: credentials.password };
  }
  if (credentials.user !== undefined) parsed.username = encodeURIComponent(credentials.user);
  if (credentials.password !== undefined) parsed.password = encodeURIComponent(credentials.password);
  return { connectionString: parsed.toString() };
}

function notReady(): RuntimeError {
  return new RuntimeError('NOT_READY', 'runtime: no config loaded yet', { hint: 'await runtime.ready() before routing' });
}

function closedError(): RuntimeError {
  return new RuntimeError('CLOSED', 'runtime: closed');
}

function invalidArgument(message: string): RuntimeError {
  return new RuntimeError('INVALID_ARGUMENT', message);
}
