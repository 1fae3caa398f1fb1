import { Type } from 'typebox';
import { MAX_RANGES, RESOURCE_ID_PATTERN } from '../../api/rules.js';
import { AnyValue, Body, Digits, Doc, mutationMeta, Nullable, OrgId, Query, ResourceId, Timestamp, Version } from '../../http/schemas.js';
import { ConfigDeltaSchema, WireRangeSchema } from '../../http/wireSchemas.js';

const RangeInput = Body({ lo: AnyValue, hi: AnyValue, clusterId: ResourceId });

/** Sent with a change that may route orgs to another cluster. */
export const DataOn = Type.Optional(
  Type.String({
    pattern: RESOURCE_ID_PATTERN,
    description:
      'The cluster the change routes the orgs to, saying their rows are there already (a restore from backup): the change is not refused for rows found on the cluster they leave (which are only recorded in the audit row), nor when that cluster cannot be reached. Any other cluster: 400 DATA_ON_MISMATCH.',
  }),
);

/** What a change routed elsewhere; present only when it routed some org ids to another cluster. */
export const RerouteReport = Doc(
  {
    from: ResourceId,
    to: ResourceId,
    ranges: Type.Array(Doc({ lo: OrgId, hi: OrgId }), {
      description: 'Spans of ranges that moved (their pinned orgs stay where their pins say).',
    }),
    orgIds: Type.Array(OrgId, { description: 'Single orgs routed elsewhere (a pin).' }),
    orgsWithRowsOnFrom: Nullable(Type.Integer({ minimum: 0, description: 'null: `from` could not be read (only with dataOn).' })),
    sampleOrgIds: Type.Array(OrgId),
    tombstoned: Type.Boolean({
      description: 'Whether `from` now refuses the orgs to stale maps (false only with dataOn when it could not be reached).',
    }),
  },
  { description: 'RerouteReport: orgs the change routes from one cluster to another, what `from` held, and its markers.' },
);

export const SetRangesBody = Body({
  ranges: Type.Array(RangeInput, { maxItems: MAX_RANGES, description: 'Must cover 0..2^53-1 without gap or overlap.' }),
  dataOn: DataOn,
  ...mutationMeta,
});
export const SplitBody = Body(
  { at: AnyValue, ...mutationMeta },
  { description: 'The range holding `at` becomes [lo, at-1] and [at, hi].' },
);
export const AssignBody = Body(
  { lo: AnyValue, hi: AnyValue, clusterId: ResourceId, dataOn: DataOn, ...mutationMeta },
  { description: '`lo` must start a range and `hi` end one; every range in between moves.' },
);
export const MergeBody = Body(
  { lo: AnyValue, hi: AnyValue, ...mutationMeta },
  { description: 'Adjacent ranges in [lo, hi] on one cluster become one.' },
);
export const HistoryQuery = Query({ limit: Type.Optional(Digits), before: Type.Optional(Digits) });

export const ShardMap = Doc({ version: Version, ranges: Type.Array(WireRangeSchema), placementCount: Type.Integer({ minimum: 0 }) });
export const RangesResult = Doc({
  version: Version,
  ranges: Type.Array(WireRangeSchema),
  reroutes: Type.Optional(Type.Array(RerouteReport, { description: 'Present when the change routed orgs to another cluster.' })),
});
export const HistoryEntry = Doc({
  version: Version,
  action: Type.String(),
  actor: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  createdAt: Timestamp,
  delta: ConfigDeltaSchema,
});
export const History = Doc({ changes: Type.Array(HistoryEntry, { description: 'Newest first.' }) });
