// The gate's rules: outcomes, the no-data policy, counting, and when the gate acts.
import { describe, expect, test } from 'vitest';
import {
  analyse,
  countsAs,
  decide,
  type GateInput,
  holds,
  NO_PROGRESS,
  nextProgress,
  progressFrom,
  roundVerdict,
} from '../../src/features/slo-gates/gateRules.js';

const check = { name: 'error-rate', query: 'q', op: '<' as const, threshold: 0.001 };
const at = new Date('2025-01-01T00:00:00.000Z');

test('a check holds on the boundary only with <= and >=', () => {
  expect([holds(1, '<', 1), holds(1, '<=', 1), holds(1, '>', 1), holds(1, '>=', 1)]).toEqual([false, true, false, true]);
  expect([holds(0.0009, '<', 0.001), holds(2, '>', 1)]).toEqual([true, true]);
});

test('analyse records the value, the threshold and the outcome', () => {
  expect(analyse(check, 2, { kind: 'value', value: 0.5 }, at)).toEqual({
    stageIndex: 2,
    check: 'error-rate',
    query: 'q',
    value: 0.5,
    threshold: 0.001,
    op: '<',
    outcome: 'fail',
    at: '2025-01-01T00:00:00.000Z',
  });
  expect(analyse(check, 0, { kind: 'value', value: 0 }, at)).toMatchObject({ value: 0, outcome: 'pass' });
  expect(analyse(check, 0, { kind: 'no-data', message: 'none' }, at)).toMatchObject({ value: null, outcome: 'no-data', message: 'none' });
  expect(analyse(check, 0, { kind: 'error', message: 'down' }, at)).toMatchObject({ value: null, outcome: 'error', message: 'down' });
  expect(analyse(check, 0, { kind: 'value', value: Number.POSITIVE_INFINITY }, at)).toMatchObject({
    value: null,
    outcome: 'fail',
    message: 'the value is +Inf',
  });
});

describe('no-data policy', () => {
  test('no data counts as the policy says; an error is never a pass', () => {
    expect(['pass', 'fail', 'hold'].map((p) => countsAs('no-data', p as 'pass'))).toEqual(['pass', 'fail', 'hold']);
    expect(['pass', 'fail', 'hold'].map((p) => countsAs('error', p as 'pass'))).toEqual(['hold', 'fail', 'hold']);
  });

  test('one failing check fails the round; a held one blocks a pass', () => {
    expect(roundVerdict(['pass', 'fail', 'no-data'], 'pass')).toBe('fail');
    expect(roundVerdict(['pass', 'no-data'], 'hold')).toBe('hold');
    expect(roundVerdict(['pass', 'no-data'], 'pass')).toBe('pass');
    expect(roundVerdict(['pass', 'error'], 'pass')).toBe('hold');
    expect(roundVerdict(['pass', 'error'], 'fail')).toBe('fail');
  });
});

test('failures count while consecutive; a hold neither resets nor adds', () => {
  let p = NO_PROGRESS;
  for (const v of ['fail', 'fail', 'hold', 'fail'] as const) p = nextProgress(p, v);
  expect(p).toEqual({ samples: 3, consecutiveFailures: 3, last: 'fail' });
  expect(nextProgress(p, 'pass')).toEqual({ samples: 4, consecutiveFailures: 0, last: 'pass' });
});

test('progress is rebuilt from recorded rounds (rows of one round share their time)', () => {
  const row = (t: string, outcome: 'pass' | 'fail' | 'no-data') => ({
    ...analyse(check, 0, { kind: 'value', value: 0 }, new Date(t)),
    outcome,
  });
  const rows = [
    row('2025-01-01T00:00:01Z', 'pass'),
    row('2025-01-01T00:00:01Z', 'fail'),
    row('2025-01-01T00:00:02Z', 'no-data'),
    row('2025-01-01T00:00:03Z', 'fail'),
  ];
  expect(progressFrom(rows, 'hold')).toEqual({ samples: 2, consecutiveFailures: 2, last: 'fail' });
  expect(progressFrom(rows, 'pass')).toEqual({ samples: 3, consecutiveFailures: 1, last: 'fail' });
});

describe('decide', () => {
  const base: GateInput = {
    mode: 'automatic',
    onFailure: 'rollback',
    analysis: { intervalSeconds: 1, failureLimit: 3, minSamples: 2, noData: 'hold' },
    hasChecks: true,
    progress: { samples: 5, consecutiveFailures: 0, last: 'pass' },
    dwellSeconds: 10,
    minDwellSeconds: 5,
  };

  test('advances after the dwell, with enough samples, when the latest round passed', () => {
    expect(decide(base)).toMatchObject({ action: 'advance' });
    expect(decide({ ...base, dwellSeconds: 4 })).toBeNull();
    expect(decide({ ...base, progress: { samples: 1, consecutiveFailures: 0, last: 'pass' } })).toBeNull();
    expect(decide({ ...base, progress: { samples: 5, consecutiveFailures: 0, last: 'hold' } })).toBeNull();
    expect(decide({ ...base, progress: { samples: 5, consecutiveFailures: 1, last: 'fail' } })).toBeNull();
  });

  test('manual mode never advances by itself', () => {
    expect(decide({ ...base, mode: 'manual' })).toBeNull();
    expect(decide({ ...base, mode: 'manual', hasChecks: false })).toBeNull();
  });

  test('failureLimit consecutive failures pause or roll back, in either mode, before the dwell', () => {
    const failing = { ...base, dwellSeconds: 0, progress: { samples: 3, consecutiveFailures: 3, last: 'fail' as const } };
    expect(decide(failing)).toMatchObject({ action: 'rollback', why: '3 consecutive failed analyses (failureLimit 3)' });
    expect(decide({ ...failing, mode: 'manual', onFailure: 'pause' })).toMatchObject({ action: 'pause' });
    expect(decide({ ...failing, progress: { samples: 3, consecutiveFailures: 2, last: 'fail' } })).toBeNull();
  });

  test('an automatic stage without checks advances on its dwell alone', () => {
    expect(decide({ ...base, hasChecks: false, progress: NO_PROGRESS })).toMatchObject({ action: 'advance' });
    expect(decide({ ...base, hasChecks: false, progress: NO_PROGRESS, dwellSeconds: 1 })).toBeNull();
  });
});
