// How a replica's probes become its state: pure functions, pinned by boundary tests.
//
// Lag is measured against the primary's current WAL position, read before the replica's:
// - bytes: primary LSN - replay LSN (never negative);
// - seconds: 0 when replay has reached the primary's LSN, whatever the last replayed
//   commit's timestamp says (an idle primary is not lag); else now - that timestamp,
//   capped by the time since the checker last saw the replica caught up (a replica that
//   was caught up a second ago cannot be a minute behind, even if the primary was idle
//   for a minute before its last write).
// States: healthy < warn <= lagging < critical <= unhealthy (or bytes >= critical bytes);
// unreachable after N failed probes in a row. A worse state is taken at once; a better
// one only after K probes in a row at least that good (hysteresis), so a replica near a
// threshold does not flap.
import type { ReplicaHealthState } from '@orgplane/runtime/wire';

export type ProbedState = Exclude<ReplicaHealthState, 'draining'>;

export interface HealthSettings {
  lagWarnSeconds: number;
  lagCriticalSeconds: number;
  lagCriticalBytes: number;
  unreachableAfterProbes: number;
  healthyAfterProbes: number;
  probeTimeoutMs: number;
}

export const DEFAULT_HEALTH_SETTINGS: HealthSettings = {
  lagWarnSeconds: 5,
  lagCriticalSeconds: 10,
  lagCriticalBytes: 64 * 1024 * 1024,
  unreachableAfterProbes: 3,
  healthyAfterProbes: 3,
  probeTimeoutMs: 1000,
};

/** One probe of a replica (and of its primary just before). */
export type Probe =
  | {
      ok: true;
      inRecovery: boolean;
      /** pg_current_wal_lsn() on the primary, or null when the primary did not answer. */
      primaryLsn: bigint | null;
      receiveLsn: bigint | null;
      replayLsn: bigint | null;
      /** pg_last_xact_replay_timestamp() in ms, null before the first replayed commit. */
      replayTimestampMs: number | null;
      /** The replica's clock when it answered, in ms. */
      nowMs: number;
    }
  | { ok: false; error: string };

/** What the checker remembers of a replica between probes (in memory, on the leader). */
export interface Tracker {
  state: ProbedState;
  failures: number;
  /** Probes in a row that were better than `state`, and the worst of them. */
  betterStreak: number;
  betterState: ProbedState | null;
  /** When a probe last saw replay at the primary's LSN (the replica's clock, ms). */
  caughtUpAtMs: number | null;
}

export function newTracker(state: ProbedState = 'unknown'): Tracker {
  return { state, failures: 0, betterStreak: 0, betterState: null, caughtUpAtMs: null };
}

export interface Lag {
  seconds: number | null;
  bytes: number | null;
}

/** An LSN as Postgres prints it (`16/B374D848`) as a number of bytes. */
export function parseLsn(text: string | null | undefined): bigint | null {
  if (text === null || text === undefined) return null;
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) throw new RangeError(`'${text}' is not an LSN`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function measureLag(probe: Extract<Probe, { ok: true }>, caughtUpAtMs: number | null): Lag {
  if (probe.primaryLsn === null || probe.replayLsn === null) return { seconds: null, bytes: null };
  const behind = probe.primaryLsn - probe.replayLsn;
  if (behind <= 0n) return { seconds: 0, bytes: 0 };
  const bytes = Number(behind);
  let seconds = probe.replayTimestampMs === null ? null : Math.max(0, (probe.nowMs - probe.replayTimestampMs) / 1000);
  if (caughtUpAtMs !== null) {
    const sinceCaughtUp = Math.max(0, (probe.nowMs - caughtUpAtMs) / 1000);
    seconds = seconds === null ? sinceCaughtUp : Math.min(seconds, sinceCaughtUp);
  }
  return { seconds, bytes };
}

/** The state one successful measurement points at, before hysteresis. */
export function levelOf(lag: Lag, inRecovery: boolean, settings: HealthSettings): ProbedState {
  // A promoted replica is a primary now: it must not take replica reads.
  if (!inRecovery) return 'unhealthy';
  if (lag.bytes !== null && lag.bytes >= settings.lagCriticalBytes) return 'unhealthy';
  if (lag.seconds === null) return lag.bytes === 0 ? 'healthy' : 'unknown';
  if (lag.seconds >= settings.lagCriticalSeconds) return 'unhealthy';
  if (lag.seconds >= settings.lagWarnSeconds) return 'lagging';
  return 'healthy';
}

const SEVERITY: Record<ProbedState, number> = { healthy: 0, lagging: 1, unhealthy: 2, unreachable: 3, unknown: 4 };

export interface Judgement {
  tracker: Tracker;
  lag: Lag;
}

/** The tracker after one more probe. */
export function judge(tracker: Tracker, probe: Probe, settings: HealthSettings): Judgement {
  if (!probe.ok) {
    const failures = tracker.failures + 1;
    const state = failures >= settings.unreachableAfterProbes ? 'unreachable' : tracker.state;
    return {
      tracker: { ...tracker, state, failures, betterStreak: 0, betterState: null },
      lag: { seconds: null, bytes: null },
    };
  }
  const lag = measureLag(probe, tracker.caughtUpAtMs);
  const caughtUpAtMs = lag.bytes === 0 ? probe.nowMs : tracker.caughtUpAtMs;
  const level = levelOf(lag, probe.inRecovery, settings);
  const base = { ...tracker, failures: 0, caughtUpAtMs };
  // Nothing measured (the primary did not answer): no evidence either way.
  if (level === 'unknown') return { tracker: { ...base, betterStreak: 0, betterState: null }, lag };
  // The first verdict, and every worse one, is taken at once.
  if (tracker.state === 'unknown' || SEVERITY[level] >= SEVERITY[tracker.state]) {
    return { tracker: { ...base, state: level, betterStreak: 0, betterState: null }, lag };
  }
  const betterState = tracker.betterState === null || SEVERITY[level] > SEVERITY[tracker.betterState] ? level : tracker.betterState;
  const betterStreak = tracker.betterStreak + 1;
  if (betterStreak >= settings.healthyAfterProbes) {
    return { tracker: { ...base, state: betterState, betterStreak: 0, betterState: null }, lag };
  }
  return { tracker: { ...base, betterStreak, betterState }, lag };
}

/** The state runtimes see. */
export function publishedState(probed: ProbedState, drained: boolean): ReplicaHealthState {
  return drained ? 'draining' : probed;
}
