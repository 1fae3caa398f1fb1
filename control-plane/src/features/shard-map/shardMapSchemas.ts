import { Type } from 'typebox';
import { MAX_RANGES } from '../../api/rules.js';
import { AnyValue, Body, Digits, Doc, mutationMeta, Nullable, Query, ResourceId, Timestamp, Version } from '../../http/schemas.js';
import { ConfigDeltaSchema, WireRangeSchema } from '../../http/wireSchemas.js';

const RangeInput = Body({ lo: AnyValue, hi: AnyValue, clusterId: ResourceId });

export const SetRangesBody = Body({
  ranges: Type.Array(RangeInput, { maxItems: MAX_RANGES, description: 'Must cover 0..2^53-1 without gap or overlap.' }),
  ...mutationMeta,
});
export const SplitBody = Body(
  { at: AnyValue, ...mutationMeta },
  { description: 'The range holding `at` becomes [lo, at-1] and [at, hi].' },
);
export const AssignBody = Body(
  { lo: AnyValue, hi: AnyValue, clusterId: ResourceId, ...mutationMeta },
  { description: '`lo` must start a range and `hi` end one; every range in between moves.' },
);
export const MergeBody = Body(
  { lo: AnyValue, hi: AnyValue, ...mutationMeta },
  { description: 'Adjacent ranges in [lo, hi] on one cluster become one.' },
);
export const HistoryQuery = Query({ limit: Type.Optional(Digits), before: Type.Optional(Digits) });

export const ShardMap = Doc({ version: Version, ranges: Type.Array(WireRangeSchema), placementCount: Type.Integer({ minimum: 0 }) });
export const RangesResult = Doc({ version: Version, ranges: Type.Array(WireRangeSchema) });
export const HistoryEntry = Doc({
  version: Version,
  action: Type.String(),
  actor: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  createdAt: Timestamp,
  delta: ConfigDeltaSchema,
});
export const History = Doc({ changes: Type.Array(HistoryEntry, { description: 'Newest first.' }) });
