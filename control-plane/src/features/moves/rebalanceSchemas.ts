import { Type } from 'typebox';
import { FENCE_DEADLINE_MS, GRACE_SECONDS, REBALANCE_BY } from '../../api/rules.js';
import { Body, Count, Doc, Nullable, OrgId, Reason, ResourceId } from '../../http/schemas.js';
import { CopyStreams, Move, MoveBatch, ReadFromSchema } from './moveSchemas.js';

const RebalancePercent = Type.Number({
  exclusiveMinimum: 0,
  exclusiveMaximum: 100,
  description: 'The share to move, a number strictly between 0 and 100 (fractions allowed).',
});
const RebalanceBySchema = Type.Enum(REBALANCE_BY, {
  description: "What `percent` is a share of: the source's orgs (default) or its rows (every tenant table).",
});

export const RebalanceBody = Body(
  {
    from: ResourceId,
    to: ResourceId,
    percent: RebalancePercent,
    by: Type.Optional(RebalanceBySchema),
    dryRun: Type.Optional(Type.Boolean({ description: 'Plan only: nothing changes (200 {plan}).' })),
    copyStreams: Type.Optional(CopyStreams),
    readFrom: Type.Optional(ReadFromSchema),
    fenceDeadlineMs: Type.Optional(Type.Integer(FENCE_DEADLINE_MS)),
    graceSeconds: Type.Optional(Type.Integer(GRACE_SECONDS)),
    reason: Type.Optional(Reason),
  },
  {
    description:
      "Move `percent` of `from`'s orgs (or rows) by range to `to`: the top of its highest range(s), split where the real org-id distribution says, as range moves in one batch. Orgs served by a pin count for nothing and are left alone.",
  },
);

export const PlannedRange = Doc(
  {
    lo: OrgId,
    hi: OrgId,
    splitAt: Nullable(OrgId),
    orgs: Count,
    rows: Count,
  },
  {
    description:
      'PlannedRange: a range of `from` as the map had it; [splitAt, hi] moves (null: all of it). `orgs` and `rows`: what moves, pinned orgs not counted.',
  },
);

export const RebalancePlan = Doc(
  {
    from: ResourceId,
    to: ResourceId,
    by: RebalanceBySchema,
    percent: RebalancePercent,
    sourceOrgs: Count,
    sourceRows: Count,
    orgs: Count,
    rows: Count,
    ranges: Type.Array(PlannedRange, { description: 'Ascending; at most one has a splitAt.' }),
    estimatedSeconds: Type.Number({ minimum: 0, description: 'The bulk copy: rows / copyRowsPerSecond.' }),
    copyRowsPerSecond: Type.Number({ exclusiveMinimum: 0 }),
    rateBasis: Type.Enum(['measured', 'default'], {
      description: "'measured': the newest range move that flipped (rows copied / its copy time); 'default': none has yet.",
    }),
  },
  {
    description:
      'RebalancePlan: what moves. `sourceOrgs` and `sourceRows`: what `from` serves by range (orgs without a pin); `orgs` and `rows`: what moves.',
  },
);

export const RebalancePlanned = Doc({ plan: RebalancePlan });
export const RebalanceStarted = Doc({ plan: RebalancePlan, batch: MoveBatch, moves: Type.Array(Move) });
