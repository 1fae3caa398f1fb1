// Boundary values of the replica-health rules: exact thresholds, an idle primary, the
// catch-up cap, hysteresis and the unreachable count.
import { describe, expect, it } from 'vitest';
import {
  formatLsn,
  judge,
  measureLag,
  newTracker,
  type Probe,
  parseLsn,
  DEFAULT_HEALTH_SETTINGS as S,
  type Tracker,
} from '../../src/features/replica-health/replicaHealthRules.js';

const NOW = 1_800_000_000_000;
const ok = (behindBytes: number, replaySecondsAgo: number | null, extra: Partial<Extract<Probe, { ok: true }>> = {}): Probe => ({
  ok: true,
  inRecovery: true,
  primaryLsn: 1_000_000n,
  receiveLsn: 1_000_000n,
  replayLsn: 1_000_000n - BigInt(behindBytes),
  replayTimestampMs: replaySecondsAgo === null ? null : NOW - replaySecondsAgo * 1000,
  nowMs: NOW,
  ...extra,
});
const failed: Probe = { ok: false, error: 'connect ECONNREFUSED' };
/** A probe `t` seconds into a scenario, replay `ago` seconds behind (0 bytes behind when ago is 0). */
const at = (t: number, ago: number): Probe => ({
  ...(ok(ago === 0 ? 0 : 100, ago) as Extract<Probe, { ok: true }>),
  nowMs: NOW + t * 1000,
  replayTimestampMs: NOW + (t - ago) * 1000,
});

function run(probes: Probe[], start: Tracker = newTracker()): Tracker[] {
  const out: Tracker[] = [];
  let t = start;
  for (const p of probes) {
    t = judge(t, p, S).tracker;
    out.push(t);
  }
  return out;
}

describe('LSNs', () => {
  it('parses and prints Postgres LSNs', () => {
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(formatLsn(parseLsn('16/B374D848')!)).toBe('16/B374D848');
    expect(parseLsn(null)).toBeNull();
    expect(() => parseLsn('nope')).toThrow(RangeError);
  });
});

describe('lag', () => {
  it('is 0 when replay reached the primary, however old the last replayed commit is (an idle primary)', () => {
    expect(measureLag(ok(0, 3600) as Extract<Probe, { ok: true }>, null)).toEqual({ seconds: 0, bytes: 0 });
  });

  it('is the age of the last replayed commit while replay is behind', () => {
    expect(measureLag(ok(500, 7) as Extract<Probe, { ok: true }>, null)).toEqual({ seconds: 7, bytes: 500 });
  });

  it('is capped by the time since the replica was last seen caught up', () => {
    // Idle for an hour, then one write: the replica was caught up 1 s ago, so it is at most 1 s behind.
    expect(measureLag(ok(500, 3600) as Extract<Probe, { ok: true }>, NOW - 1000)).toEqual({ seconds: 1, bytes: 500 });
  });

  it('is unknown when the primary did not answer', () => {
    expect(measureLag(ok(0, 1, { primaryLsn: null }) as Extract<Probe, { ok: true }>, null)).toEqual({ seconds: null, bytes: null });
  });
});

describe('states', () => {
  it('healthy below 5 s, lagging from 5 s, unhealthy from 10 s', () => {
    expect(judge(newTracker(), ok(1, 4.999), S).tracker.state).toBe('healthy');
    expect(judge(newTracker(), ok(1, 5), S).tracker.state).toBe('lagging');
    expect(judge(newTracker(), ok(1, 9.999), S).tracker.state).toBe('lagging');
    expect(judge(newTracker(), ok(1, 10), S).tracker.state).toBe('unhealthy');
  });

  it('unhealthy from the byte threshold, whatever the seconds', () => {
    expect(judge(newTracker(), ok(S.lagCriticalBytes - 1, 0), S).tracker.state).toBe('healthy');
    expect(judge(newTracker(), ok(S.lagCriticalBytes, 0), S).tracker.state).toBe('unhealthy');
  });

  it('unhealthy when the replica was promoted (not in recovery)', () => {
    expect(judge(newTracker('healthy'), ok(0, 0, { inRecovery: false }), S).tracker.state).toBe('unhealthy');
  });

  it('goes worse at once and better only after healthyAfterProbes better probes in a row', () => {
    // Replay paused at t=0 while the primary writes; resumed at t=12.
    const states = run([at(0, 0), at(6, 6), at(11, 11), at(12, 0), at(13, 0), at(14, 0)]).map((t) => t.state);
    expect(states).toEqual(['healthy', 'lagging', 'unhealthy', 'unhealthy', 'unhealthy', 'healthy']);
  });

  it('a probe back over the threshold restarts the count, so a replica near it does not flap', () => {
    const states = run([at(0, 6), at(1, 0), at(2, 0), at(8, 6), at(9, 0), at(10, 0)]).map((t) => t.state);
    expect(states).toEqual(['lagging', 'lagging', 'lagging', 'lagging', 'lagging', 'lagging']);
  });

  it('returns to the worst state seen during the better streak', () => {
    const states = run([at(0, 11), at(1, 0), at(7, 6), at(8, 0)]).map((t) => t.state);
    expect(states).toEqual(['unhealthy', 'unhealthy', 'unhealthy', 'lagging']);
  });

  it('unreachable after unreachableAfterProbes failures in a row, and back after the hysteresis', () => {
    const states = run([ok(0, 0), failed, failed, failed, ok(0, 0), ok(0, 0), ok(0, 0)]).map((t) => t.state);
    expect(states).toEqual(['healthy', 'healthy', 'healthy', 'unreachable', 'unreachable', 'unreachable', 'healthy']);
  });

  it('one success resets the failure count', () => {
    const states = run([ok(0, 0), failed, failed, ok(0, 0), failed, failed]).map((t) => t.state);
    expect(states).not.toContain('unreachable');
  });
});
