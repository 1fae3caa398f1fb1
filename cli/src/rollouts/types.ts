// The shapes of the control plane's rollout, cohort and pilot answers, as
// control-plane/API.md "Rollouts, cohorts and pilots" fixes them.

export type CheckOp = '<' | '<=' | '>' | '>=';
export type RolloutMode = 'manual' | 'automatic';
export type OnFailure = 'pause' | 'rollback';
export type NoDataPolicy = 'pass' | 'fail' | 'hold';
export type RolloutStatus = 'running' | 'paused' | 'killed' | 'completed' | 'rolled_back';
export type AnalysisOutcome = 'pass' | 'fail' | 'no-data' | 'error';

/** A stage guard: PromQL returning one sample; it holds when `value op threshold`. */
export interface RolloutCheck {
  name: string;
  query: string;
  op: CheckOp;
  threshold: number;
}

export interface RolloutStage {
  percent: number;
  minDwellSeconds: number;
  checks: RolloutCheck[];
}

export interface RolloutAnalysisPolicy {
  intervalSeconds: number;
  failureLimit: number;
  minSamples: number;
  noData: NoDataPolicy;
}

export interface Analysis {
  id: number | string;
  stageIndex: number;
  check: string;
  query: string;
  value: number | null;
  threshold: number;
  op: CheckOp;
  outcome: AnalysisOutcome;
  message?: string;
  at: string;
}

export interface Rollout {
  flag: string;
  description: string;
  groupId: string;
  pilotCohort: string | null;
  mode: RolloutMode;
  onFailure: OnFailure;
  analysis: RolloutAnalysisPolicy;
  stages: RolloutStage[];
  status: RolloutStatus;
  /** -1: off (before the first `advance`, or rolled back past stage 0). */
  stageIndex: number;
  percent: number;
  enabled: boolean;
  stageStartedAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  /** Only on GET /v1/rollouts/:flag: the latest analyses, newest first. */
  analyses?: Analysis[];
}

/** What POST /v1/rollouts takes: a Rollout without its status fields. */
export interface RolloutDraft {
  flag: string;
  stages: RolloutStage[];
  description?: string;
  groupId?: string;
  pilotCohort?: string | null;
  mode?: RolloutMode;
  onFailure?: OnFailure;
  analysis?: Partial<RolloutAnalysisPolicy>;
  reason?: string;
}

/** One size x activity stratum of a pilot selection, against the whole population. */
export interface Stratum {
  size: string;
  activity: string;
  population: number;
  selected: number;
  populationShare: number;
  selectedShare: number;
}

export interface CohortSummary {
  name: string;
  size: number;
  seed: number | null;
  createdAt: string;
}

export interface CohortPage {
  name: string;
  size: number;
  seed: number | null;
  strata: Stratum[];
  orgIds: number[];
}

export interface PilotSelection {
  cohort: { name: string; size: number; seed: number };
  strata: Stratum[];
}
