// The rollout document (API.md "Rollouts, cohorts and pilots") and what a runtime sees
// of it. The stage plan lives here; runtimes get only the effective WireRollout.
import type { WireRollout } from '@orgplane/runtime/wire';

export type RolloutMode = 'manual' | 'automatic';
export type RolloutOnFailure = 'pause' | 'rollback';
export type RolloutStatus = 'running' | 'paused' | 'killed' | 'completed' | 'rolled_back';
export type CheckOp = '<' | '<=' | '>' | '>=';
export type NoDataPolicy = 'pass' | 'fail' | 'hold';

/** A PromQL query returning one sample; it holds when `value op threshold`. */
export interface RolloutCheck {
  name: string;
  query: string;
  op: CheckOp;
  threshold: number;
}

export interface RolloutStage {
  /** Integer 0..100; strictly increasing along the plan. */
  percent: number;
  minDwellSeconds: number;
  checks: RolloutCheck[];
}

export interface AnalysisSettings {
  intervalSeconds: number;
  /** Failed analyses (of one stage) that trigger onFailure. */
  failureLimit: number;
  /** Analyses a stage needs before the gate may advance it. */
  minSamples: number;
  noData: NoDataPolicy;
}

export interface Rollout {
  flag: string;
  description: string;
  groupId: string;
  pilotCohort: string | null;
  mode: RolloutMode;
  onFailure: RolloutOnFailure;
  analysis: AnalysisSettings;
  stages: RolloutStage[];
  status: RolloutStatus;
  /** -1: off (before the first stage, or rolled back past it). */
  stageIndex: number;
  percent: number;
  enabled: boolean;
  stageStartedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** The config version of the rollout's last change. */
  version: number;
}

export type AnalysisOutcome = 'pass' | 'fail' | 'no-data' | 'error';

/** What one evaluation of one check found; the gate records it, the API shows it. */
interface CheckResult {
  check: string;
  query: string;
  value: number | null;
  threshold: number;
  op: CheckOp;
  outcome: AnalysisOutcome;
}

/** One evaluation of one check, as the gate worker records it. */
export interface AnalysisInput extends CheckResult {
  message?: string | undefined;
  /** Defaults to now. */
  at?: string | undefined;
}

export interface RolloutAnalysis extends CheckResult {
  id: number;
  stageIndex: number;
  message?: string;
  at: string;
}

export const DEFAULT_ANALYSIS: AnalysisSettings = { intervalSeconds: 60, failureLimit: 1, minSamples: 1, noData: 'hold' };

export function toWireRollout(rollout: Rollout): WireRollout {
  return {
    flag: rollout.flag,
    groupId: rollout.groupId,
    enabled: rollout.enabled,
    percent: rollout.percent,
    pilotCohort: rollout.pilotCohort,
  };
}
