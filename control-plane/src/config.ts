// The only module that reads process.env. Everything else receives a typed Config.
import { ConfigError } from './errors.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** Control DB connection URL, with credentials: never log or echo it. */
  databaseUrl: string;
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Interval between `heartbeat` events on every config watch stream. */
  heartbeatMs: number;
  /** Config snapshots sent at once (GET /v1/config, watch snapshot events); beyond it 503 + Retry-After. */
  maxSnapshotSends: number;
  /** The Retry-After of that 503, in seconds (runtimes add jitter). */
  snapshotRetryAfterSeconds: number;
  /** Apply pending control-plane migrations before listening. */
  migrateOnBoot: boolean;
  /**
   * Prometheus HTTP API base URL the SLO gates query (ORGPLANE_PROMETHEUS_URL); null when
   * unset: checks are then stored unvalidated and every evaluation is an `error`. May hold
   * basic-auth credentials: never log or echo it.
   */
  prometheusUrl: string | null;
  /** How often the gate worker looks for rollouts whose analysis interval is due. */
  gateTickMs: number;
  /** Timeout of one Prometheus query. */
  prometheusTimeoutMs: number;
  /** Between two probe rounds of the replica health checker (thresholds are API settings). */
  replicaProbeMs: number;
  moves: MoveExecutorConfig;
}

export interface MoveExecutorConfig {
  /** Run the move executor on this instance (one instance at a time runs moves, by lock). */
  executor: boolean;
  /** Moves running at once, over every batch. */
  concurrency: number;
  /** How often the executor looks for due moves and for the lock. */
  pollMs: number;
  /** Copy and catch-up pause while the source's replicas are further behind. */
  lagThresholdBytes: number;
  /** First retry delay after a failed step or a missed fence deadline (doubles). */
  retryBaseMs: number;
  /** Failures in a row of one step before the move is left `failed`. */
  maxFailures: number;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env['ORGPLANE_DATABASE_URL']?.trim();
  if (!databaseUrl) {
    throw new ConfigError(
      'ORGPLANE_DATABASE_URL is not set',
      'set it to the control DB URL, for example postgres://orgplane@127.0.0.1:5432/orgplane (with the password in the userinfo)',
    );
  }
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'ORGPLANE_DATABASE_URL is not a postgres:// or postgresql:// URL',
      'write it as postgres://user@host:port/db, with the password after the user name',
    );
  }
  const logLevel = (env['ORGPLANE_LOG_LEVEL']?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`ORGPLANE_LOG_LEVEL '${logLevel}' is not a log level`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    databaseUrl,
    host: env['ORGPLANE_HOST']?.trim() || '127.0.0.1',
    port: integer(env, 'ORGPLANE_PORT', 7070, 0, 65535),
    logLevel,
    heartbeatMs: integer(env, 'ORGPLANE_HEARTBEAT_MS', 15_000, 10, 15_000),
    maxSnapshotSends: integer(env, 'ORGPLANE_CONFIG_MAX_SNAPSHOT_SENDS', 64, 1, 100_000),
    snapshotRetryAfterSeconds: integer(env, 'ORGPLANE_CONFIG_RETRY_AFTER_S', 1, 1, 600),
    migrateOnBoot: boolean(env, 'ORGPLANE_MIGRATE', true),
    moves: {
      executor: boolean(env, 'ORGPLANE_MOVE_EXECUTOR', true),
      concurrency: integer(env, 'ORGPLANE_MOVE_CONCURRENCY', 8, 1, 256),
      pollMs: integer(env, 'ORGPLANE_MOVE_POLL_MS', 1000, 10, 60_000),
      lagThresholdBytes: integer(env, 'ORGPLANE_MOVE_LAG_THRESHOLD_BYTES', 64 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
      retryBaseMs: integer(env, 'ORGPLANE_MOVE_RETRY_BASE_MS', 2000, 10, 600_000),
      maxFailures: integer(env, 'ORGPLANE_MOVE_MAX_FAILURES', 5, 1, 1000),
    },
    prometheusUrl: prometheusUrl(env),
    gateTickMs: integer(env, 'ORGPLANE_GATE_TICK_MS', 1000, 50, 60_000),
    prometheusTimeoutMs: integer(env, 'ORGPLANE_PROMETHEUS_TIMEOUT_MS', 5000, 100, 60_000),
    replicaProbeMs: integer(env, 'ORGPLANE_REPLICA_PROBE_MS', 1000, 50, 60_000),
  };
}

function prometheusUrl(env: Env): string | null {
  const raw = env['ORGPLANE_PROMETHEUS_URL']?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('ORGPLANE_PROMETHEUS_URL is not a URL', 'write it as http://host:9090 (the Prometheus HTTP API base)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('ORGPLANE_PROMETHEUS_URL is not an http:// or https:// URL', 'write it as http://host:9090');
  }
  return raw.replace(/\/+$/, '');
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} '${raw}' is not an integer in ${min}..${max}`, `unset it to use the default, ${fallback}`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} '${raw}' is not a boolean`, 'use true or false');
}
