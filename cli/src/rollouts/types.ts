// The shapes of the control plane's rollout, cohort and pilot answers (control-plane/API.md
// "Rollouts, cohorts and pilots"), taken from the control plane so the two cannot drift.
import type {
  AnalysisSettings,
  CohortPage,
  CohortSummary,
  GateAction,
  PilotSelectResult,
  Rollout,
  RolloutAnalysis,
  RolloutCheck,
  RolloutStage,
  RolloutStatus,
  StratumReport,
} from '@orgplane/control-plane';

export type { CohortPage, CohortSummary, GateAction, Rollout, RolloutCheck, RolloutStage, RolloutStatus };
export type Analysis = RolloutAnalysis;
export type Stratum = StratumReport;
export type PilotSelection = PilotSelectResult;
export type RolloutAnalysisPolicy = AnalysisSettings;
export type CheckOp = RolloutCheck['op'];
export type RolloutMode = Rollout['mode'];
export type OnFailure = Rollout['onFailure'];
export type NoDataPolicy = AnalysisSettings['noData'];
export type AnalysisOutcome = RolloutAnalysis['outcome'];

/** What POST /v1/rollouts takes: a Rollout without its status fields; analysis merges with the defaults. */
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
