// The rollout API's shapes and its rules, written once: the routes validate with them,
// the CLI checks what people type against the same constants (@orgplane/control-plane/api).
import { GROUP_ID_PATTERN } from '@orgplane/runtime/wire';
import { Type } from 'typebox';
import {
  ANALYSIS_BOUNDS,
  CHECK_NAME_PATTERN,
  CHECK_OPS,
  CHECK_QUERY_MAX_LENGTH,
  DESCRIPTION_MAX_LENGTH,
  FLAG_PATTERN,
  MAX_CHECKS_PER_STAGE,
  MAX_STAGES,
  MIN_DWELL_SECONDS_MAX,
  NO_DATA_POLICIES,
  ROLLOUT_STATUSES,
} from '../../api/rules.js';
import { Body, Digits, Doc, mutationMeta, Nullable, Params, Percent, Query, Timestamp, Version } from '../../http/schemas.js';

export const Flag = Type.String({ pattern: FLAG_PATTERN });
export const CheckOp = Type.Enum(CHECK_OPS);
export const NoDataPolicy = Type.Enum(NO_DATA_POLICIES);
export const RolloutMode = Type.Enum(['manual', 'automatic']);
export const RolloutOnFailure = Type.Enum(['pause', 'rollback']);

export const Check = Body(
  {
    name: Type.String({ pattern: CHECK_NAME_PATTERN }),
    query: Type.String({ minLength: 1, maxLength: CHECK_QUERY_MAX_LENGTH, description: 'PromQL returning one sample.' }),
    op: CheckOp,
    threshold: Type.Number(),
  },
  { description: 'Holds when `value op threshold`.' },
);

const StageInput = Body({
  percent: Percent,
  minDwellSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MIN_DWELL_SECONDS_MAX })),
  checks: Type.Optional(Type.Array(Check, { maxItems: MAX_CHECKS_PER_STAGE })),
});

const AnalysisInput = Body({
  intervalSeconds: Type.Optional(Type.Integer(ANALYSIS_BOUNDS.intervalSeconds)),
  failureLimit: Type.Optional(Type.Integer(ANALYSIS_BOUNDS.failureLimit)),
  minSamples: Type.Optional(Type.Integer(ANALYSIS_BOUNDS.minSamples)),
  noData: Type.Optional(NoDataPolicy),
});

export const CreateRolloutBody = Body({
  flag: Flag,
  description: Type.Optional(Type.String({ maxLength: DESCRIPTION_MAX_LENGTH })),
  groupId: Type.Optional(Type.String({ pattern: GROUP_ID_PATTERN })),
  pilotCohort: Type.Optional(Nullable(Flag)),
  mode: Type.Optional(RolloutMode),
  onFailure: Type.Optional(RolloutOnFailure),
  analysis: Type.Optional(AnalysisInput),
  stages: Type.Array(StageInput, { minItems: 1, maxItems: MAX_STAGES }),
  ...mutationMeta,
});
export const SetPercentBody = Body({ percent: Percent, ...mutationMeta });
export const TransitionBody = Body({ ...mutationMeta });
export const FlagParams = Params({ flag: Type.String() });
export const AnalysesQuery = Query({ limit: Type.Optional(Digits), before: Type.Optional(Digits) });

export const Stage = Doc({
  percent: Percent,
  minDwellSeconds: Type.Integer({ minimum: 0 }),
  checks: Type.Array(Check),
});

export const Analysis = Doc(
  {
    id: Type.Integer(),
    stageIndex: Type.Integer({ minimum: -1 }),
    check: Type.String(),
    query: Type.String(),
    value: Nullable(Type.Number()),
    threshold: Type.Number(),
    op: CheckOp,
    outcome: Type.Enum(['pass', 'fail', 'no-data', 'error']),
    message: Type.Optional(Type.String()),
    at: Timestamp,
  },
  { description: 'Analysis: one evaluation of one check.' },
);

const rolloutFields = {
  flag: Type.String(),
  description: Type.String(),
  groupId: Type.String(),
  pilotCohort: Nullable(Type.String()),
  mode: RolloutMode,
  onFailure: RolloutOnFailure,
  analysis: Doc({
    intervalSeconds: Type.Integer(),
    failureLimit: Type.Integer(),
    minSamples: Type.Integer(),
    noData: NoDataPolicy,
  }),
  stages: Type.Array(Stage, { minItems: 1 }),
  status: Type.Enum(ROLLOUT_STATUSES),
  stageIndex: Type.Integer({ minimum: -1, description: '-1: off.' }),
  percent: Percent,
  enabled: Type.Boolean(),
  stageStartedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: Version,
};

export const Rollout = Doc(rolloutFields, { description: 'Rollout: a flag keyed by org id with its stage plan; stageIndex -1 is off.' });
export const RolloutWithAnalyses = Doc(
  { ...rolloutFields, analyses: Type.Array(Analysis, { description: 'The latest analyses, newest first.' }) },
  { description: 'RolloutWithAnalyses: a Rollout and its latest analyses, newest first.' },
);
export const RolloutList = Doc({ rollouts: Type.Array(Rollout) });
export const AnalysisList = Doc({ analyses: Type.Array(Analysis) });
