// The live view of `rollouts watch`: frames rendered from fake API answers, the state
// computed from them, the polling, and q to quit.
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { coverageText, decisionText, RolloutWatchApp, RolloutWatchView } from '../src/rollouts/RolloutWatch.js';
import type { Analysis, Rollout } from '../src/rollouts/types.js';
import {
  coverage,
  type GateAuditEntry,
  gateDecision,
  inferredDecision,
  latestChecks,
  type WatchState,
  watchState,
} from '../src/rollouts/watchState.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');

function rollout(over: Partial<Rollout> = {}): Rollout {
  return {
    flag: 'new-invoices',
    description: '',
    groupId: 'new-invoices',
    pilotCohort: 'pilot-1',
    mode: 'automatic',
    onFailure: 'pause',
    analysis: { intervalSeconds: 30, failureLimit: 3, minSamples: 5, noData: 'hold' },
    stages: [0, 10, 25, 50, 100].map((percent) => ({
      percent,
      minDwellSeconds: 600,
      checks: [
        { name: 'error-rate', query: 'sum(rate(errors[5m]))', op: '<', threshold: 0.01 },
        { name: 'p99', query: 'histogram_quantile(0.99, x)', op: '<=', threshold: 0.5 },
      ],
    })),
    status: 'running',
    stageIndex: 2,
    percent: 25,
    enabled: true,
    stageStartedAt: '2026-11-23T11:00:00.000Z',
    createdAt: '2026-11-20T10:00:00.000Z',
    updatedAt: '2026-11-23T11:00:00.000Z',
    version: 42,
    ...over,
  };
}

const analysis = (over: Partial<Analysis>): Analysis => ({
  id: 1,
  stageIndex: 2,
  check: 'error-rate',
  query: 'sum(rate(errors[5m]))',
  value: 0.002,
  threshold: 0.01,
  op: '<',
  outcome: 'pass',
  at: '2026-11-23T11:59:30.000Z',
  ...over,
});

const strata = [
  { size: 'small', activity: 'active', population: 6000, selected: 60, populationShare: 0.6, selectedShare: 0.6 },
  { size: 'large', activity: 'idle', population: 4000, selected: 40, populationShare: 0.4, selectedShare: 0.4 },
];

describe('watchState', () => {
  it('shows each check of the current stage with its latest analysis, and pending before one', () => {
    const analyses = [
      analysis({ id: 3, value: 0.004, at: '2026-11-23T11:59:30.000Z' }),
      analysis({ id: 2, value: 0.003, at: '2026-11-23T11:59:00.000Z' }),
      analysis({ id: 1, stageIndex: 1, check: 'p99', value: 0.9, outcome: 'fail', op: '<=', threshold: 0.5 }),
    ];
    const checks = latestChecks(rollout(), analyses);
    expect(checks.map((c) => [c.name, c.value, c.outcome])).toEqual([
      ['error-rate', 0.004, 'pass'],
      ['p99', null, 'pending'], // the failure was in another stage
    ]);
    expect(latestChecks(rollout({ stageIndex: -1 }), analyses)).toEqual([]);
  });

  it('counts orgs covered from the pilot strata, and says when it is an estimate', () => {
    expect(coverage({ enabled: true, percent: 25, stageIndex: 2 }, 100, 10_000)).toEqual({
      orgs: 100 + Math.round(9900 * 0.25),
      share: (100 + Math.round(9900 * 0.25)) / 10_000,
      population: 10_000,
      populationSource: 'pilot-strata',
      estimated: true,
    });
    // Pilot stage: exactly the pilot.
    expect(coverage({ enabled: true, percent: 0, stageIndex: 0 }, 100, 10_000)).toMatchObject({ orgs: 100, estimated: false });
    expect(coverage({ enabled: true, percent: 100, stageIndex: 4 }, 100, 10_000)).toMatchObject({ orgs: 10_000, share: 1 });
    // Killed: nobody, pilot included.
    expect(coverage({ enabled: false, percent: 25, stageIndex: 2 }, 100, 10_000)).toMatchObject({ orgs: 0, share: 0 });
    // No pilot cohort to count the population: the share only.
    expect(coverage({ enabled: true, percent: 10, stageIndex: 1 }, null, null)).toEqual({
      orgs: null,
      share: 0.1,
      population: null,
      populationSource: 'unknown',
      estimated: true,
    });
  });

  it('without the audit log, the decision is inferred: the newest failure, else the newest pass in this stage', () => {
    const pass = analysis({ id: 5, at: '2026-11-23T11:59:30.000Z' });
    const fail = analysis({ id: 4, check: 'p99', outcome: 'fail', value: 0.8, message: 'p99 0.8 > 0.5', at: '2026-11-23T11:58:00.000Z' });
    expect(inferredDecision(rollout(), [pass])).toMatchObject({ source: 'analyses', action: null, outcome: 'pass', check: 'error-rate' });
    expect(inferredDecision(rollout(), [pass, fail])).toMatchObject({ outcome: 'pass' });
    expect(inferredDecision(rollout(), [fail])).toMatchObject({ outcome: 'fail', check: 'p99', message: 'p99 0.8 > 0.5' });
    expect(inferredDecision(rollout(), [])).toBeNull();
  });

  it("the gate's decision comes from the newest rollout.gate audit row about this flag", () => {
    const row = (flag: string, decision: string, at: string, outcomes: string[]): GateAuditEntry => ({
      action: 'rollout.gate',
      reason: `${decision}: 3 consecutive failures`,
      before: { flag, stageIndex: 2 },
      after: {
        flag,
        stageIndex: 1,
        gate: { decision, analyses: outcomes.map((outcome, i) => ({ check: `c${i}`, outcome, stageIndex: 2 })) },
      },
      createdAt: at,
    });
    const entries = [
      row('other-flag', 'pause', '2026-11-23T11:59:00.000Z', ['fail']),
      row('new-invoices', 'rollback', '2026-11-23T11:58:00.000Z', ['pass', 'fail']),
      row('new-invoices', 'advance', '2026-11-23T11:00:00.000Z', ['pass']),
    ];
    const d = gateDecision('new-invoices', entries);
    expect(d).toEqual({
      source: 'gate',
      at: '2026-11-23T11:58:00.000Z',
      action: 'rollback',
      outcome: 'fail',
      stageIndex: 2,
      check: 'c1',
      message: 'rollback: 3 consecutive failures',
    });
    expect(decisionText(d!)).toBe('rollback at stage 3 (c1), 2026-11-23T11:58:00.000Z: rollback: 3 consecutive failures');
    expect(gateDecision('new-invoices', entries.slice(2))).toMatchObject({ action: 'advance', outcome: 'pass', check: 'c0' });
    expect(gateDecision('nobody', entries)).toBeNull();
    // With the audit log readable, analyses alone are not a decision.
    expect(watchState(rollout(), [analysis({})], null, NOW, []).lastDecision).toBeNull();
    expect(watchState(rollout(), [analysis({})], null, NOW, null).lastDecision).toMatchObject({ source: 'analyses' });
  });
});

function state(over: Partial<Rollout> = {}, analyses: Analysis[] = []): WatchState {
  return watchState(rollout(over), analyses, { size: 100, strata }, NOW);
}

describe('RolloutWatchView', () => {
  it('shows flag, status, stage i/n and percent, orgs covered, checks against thresholds', () => {
    const { lastFrame } = render(
      <RolloutWatchView
        state={state({}, [
          analysis({ value: 0.004 }),
          analysis({ id: 2, check: 'p99', op: '<=', threshold: 0.5, value: 0.72, outcome: 'fail', message: 'over the threshold' }),
        ])}
      />,
    );
    const frame = lastFrame() ?? '';
    expect(frame).toContain('new-invoices');
    expect(frame).toContain('running');
    expect(frame).toContain('stage 3/5 at 25%');
    expect(frame).toContain('pilot pilot-1 (100 orgs)');
    expect(frame).toContain('~2,575 of 10,000 orgs (~25.8%), estimated');
    expect(frame).toMatch(/error-rate\s+0\.004 < 0\.01\s+PASS/);
    expect(frame).toMatch(/p99\s+0\.72 <= 0\.5\s+FAIL over the threshold/);
    // The line wraps at the test terminal's width.
    expect(frame.replace(/\s+/g, ' ')).toContain('last gate decision failing check (p99) at stage 3, inferred from the analyses');
    expect(frame).toContain('q to quit');
  });

  it('says the flag is off for everyone when killed, and that no checks ran yet', () => {
    const { lastFrame } = render(<RolloutWatchView state={state({ status: 'killed', enabled: false })} />);
    const frame = lastFrame() ?? '';
    expect(frame).toContain('killed');
    expect(frame).toContain('(off for every org)');
    expect(frame).toContain('0 of 10,000 orgs');
    expect(frame).toMatch(/error-rate\s+— < 0\.01\s+PENDING/);
    expect(frame).toContain('none yet');
  });

  it('labels the coverage when there is no population to count it from', () => {
    const s = watchState(rollout({ pilotCohort: null, stageIndex: 1, percent: 10 }), [], null, NOW);
    expect(coverageText(s.coverage, null)).toBe('10.0% of orgs (population unknown: no pilot strata to count it)');
    const { lastFrame } = render(<RolloutWatchView state={s} />);
    expect(lastFrame()).toContain('stage 2/5 at 10%');
    expect(lastFrame()).toContain('population unknown');
  });

  it('before the first stage it says off', () => {
    const { lastFrame } = render(<RolloutWatchView state={state({ stageIndex: -1, percent: 0, status: 'paused' })} />);
    expect(lastFrame()).toContain('stage off (0/5)');
    expect(lastFrame()).toContain('no SLO checks on this stage');
  });
});

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RolloutWatchApp', () => {
  it('polls, redraws with the new state, keeps the last good one on an error, and q quits', async () => {
    const states = [state({ stageIndex: 1, percent: 10 }), state({ stageIndex: 2, percent: 25 })];
    let calls = 0;
    const load = async () => {
      calls++;
      if (calls === 3) throw new Error('control plane unreachable');
      return states[Math.min(calls - 1, 1)] as WatchState;
    };
    const app = render(<RolloutWatchApp load={load} intervalMs={20} />);
    for (let i = 0; i < 100 && !app.lastFrame()?.includes('stage 2/5'); i++) await tick(10);
    expect(app.lastFrame()).toContain('stage 2/5 at 10%');
    for (let i = 0; i < 100 && !app.lastFrame()?.includes('refresh failed'); i++) await tick(10);
    expect(app.lastFrame()).toContain('refresh failed: control plane unreachable');
    expect(app.lastFrame()).toContain('stage 3/5 at 25%');
    for (let i = 0; i < 100 && app.lastFrame()?.includes('refresh failed'); i++) await tick(10);
    expect(app.lastFrame()).not.toContain('refresh failed');
    app.stdin.write('q');
    await tick(50);
    const callsAtQuit = calls;
    await tick(100);
    expect(calls).toBe(callsAtQuit); // no polling after quitting
  });

  it('shows a given first state at once', () => {
    const app = render(<RolloutWatchApp load={async () => state()} intervalMs={60_000} initial={state({ percent: 50, stageIndex: 3 })} />);
    expect(app.lastFrame()).toContain('stage 4/5 at 50%');
    app.unmount();
  });
});
