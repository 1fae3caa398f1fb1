// The SLO gate's rules, as pure functions: what one check's answer means, what one
// round of checks adds up to under the no-data policy, and what the gate does next.
//
// - A check passes when `value op threshold` holds; no series or NaN is `no-data`;
//   anything that went wrong (Prometheus unreachable, several series) is `error`.
// - A round fails when any check fails. `no-data` follows the policy: `pass` counts as
//   a pass, `fail` as a failure, `hold` neither (the round blocks advancing and leaves
//   the failure count as it was). An `error` is never a pass: under `fail` it counts
//   as a failure, under `pass` and `hold` it holds.
// - Samples are the decided rounds (pass or fail) in the current stage; consecutive
//   failures reset on a passing round.
// - failures >= failureLimit: pause or roll back (onFailure), in either mode. In
//   automatic mode the stage advances once its dwell has passed, it has minSamples
//   samples and its latest round passed; a stage without checks advances on dwell alone.
import type {
  AnalysisOutcome,
  AnalysisSettings,
  CheckOp,
  NoDataPolicy,
  RolloutAnalysis,
  RolloutCheck,
  RolloutMode,
  RolloutOnFailure,
} from '../rollouts/Rollout.js';
import type { QueryResult } from './PrometheusClient.js';

// The rollout document's own check, settings and outcome types: the gate judges what the
// rollout declares, so it takes them from there rather than keeping a copy.
export type { AnalysisOutcome, AnalysisSettings, CheckOp, NoDataPolicy };
export type GateCheck = RolloutCheck;
/** One check's result, as recorded (a row of GET /v1/rollouts/:flag/analyses without id). */
export type CheckAnalysis = Omit<RolloutAnalysis, 'id'>;
export type RoundVerdict = 'pass' | 'fail' | 'hold';
export type GateAction = 'advance' | 'pause' | 'rollback';

export function holds(value: number, op: CheckOp, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
  }
}

export function analyse(check: GateCheck, stageIndex: number, result: QueryResult, at: Date): CheckAnalysis {
  const base = { stageIndex, check: check.name, query: check.query, threshold: check.threshold, op: check.op, at: at.toISOString() };
  switch (result.kind) {
    case 'value': {
      const ok = holds(result.value, check.op, check.threshold);
      // JSON has no Infinity: an infinite value is recorded as null, with the reason.
      const finite = Number.isFinite(result.value);
      return {
        ...base,
        value: finite ? result.value : null,
        outcome: ok ? 'pass' : 'fail',
        ...(finite ? {} : { message: `the value is ${result.value > 0 ? '+Inf' : '-Inf'}` }),
      };
    }
    case 'no-data':
      return { ...base, value: null, outcome: 'no-data', message: result.message };
    case 'error':
      return { ...base, value: null, outcome: 'error', message: result.message };
  }
}

/** What one outcome counts as under the no-data policy. */
export function countsAs(outcome: AnalysisOutcome, noData: NoDataPolicy): RoundVerdict {
  switch (outcome) {
    case 'pass':
      return 'pass';
    case 'fail':
      return 'fail';
    case 'no-data':
      return noData;
    case 'error':
      return noData === 'fail' ? 'fail' : 'hold';
  }
}

export function roundVerdict(outcomes: readonly AnalysisOutcome[], noData: NoDataPolicy): RoundVerdict {
  const counted = outcomes.map((outcome) => countsAs(outcome, noData));
  if (counted.includes('fail')) return 'fail';
  if (counted.includes('hold')) return 'hold';
  return 'pass';
}

export interface StageProgress {
  /** Decided rounds (pass or fail) in this stage. */
  samples: number;
  consecutiveFailures: number;
  last: RoundVerdict | null;
}

export const NO_PROGRESS: StageProgress = { samples: 0, consecutiveFailures: 0, last: null };

export function nextProgress(progress: StageProgress, verdict: RoundVerdict): StageProgress {
  switch (verdict) {
    case 'pass':
      return { samples: progress.samples + 1, consecutiveFailures: 0, last: 'pass' };
    case 'fail':
      return { samples: progress.samples + 1, consecutiveFailures: progress.consecutiveFailures + 1, last: 'fail' };
    case 'hold':
      return { ...progress, last: 'hold' };
  }
}

export interface GateInput {
  mode: RolloutMode;
  onFailure: RolloutOnFailure;
  analysis: AnalysisSettings;
  hasChecks: boolean;
  progress: StageProgress;
  dwellSeconds: number;
  minDwellSeconds: number;
}

export interface GateDecisionPlan {
  action: GateAction;
  /** Why, in words, for the audit reason and the log. */
  why: string;
}

export function decide(input: GateInput): GateDecisionPlan | null {
  const { progress, analysis } = input;
  if (input.hasChecks && progress.consecutiveFailures >= analysis.failureLimit) {
    return {
      action: input.onFailure,
      why: `${progress.consecutiveFailures} consecutive failed analyses (failureLimit ${analysis.failureLimit})`,
    };
  }
  if (input.mode !== 'automatic' || input.dwellSeconds < input.minDwellSeconds) return null;
  if (!input.hasChecks)
    return {
      action: 'advance',
      why: `dwelt ${Math.floor(input.dwellSeconds)} s (minDwellSeconds ${input.minDwellSeconds}); the stage has no checks`,
    };
  if (progress.last !== 'pass' || progress.samples < analysis.minSamples) return null;
  return {
    action: 'advance',
    why: `dwelt ${Math.floor(input.dwellSeconds)} s (minDwellSeconds ${input.minDwellSeconds}), ${progress.samples} samples (minSamples ${analysis.minSamples}), the latest analysis passed`,
  };
}

/** Rebuild a stage's progress from its recorded analyses (oldest first), e.g. after a takeover. */
export function progressFrom(analyses: readonly CheckAnalysis[], noData: NoDataPolicy): StageProgress {
  const rounds = new Map<string, AnalysisOutcome[]>();
  for (const row of analyses) {
    const outcomes = rounds.get(row.at) ?? [];
    outcomes.push(row.outcome);
    rounds.set(row.at, outcomes);
  }
  let progress = NO_PROGRESS;
  for (const outcomes of rounds.values()) progress = nextProgress(progress, roundVerdict(outcomes, noData));
  return progress;
}
