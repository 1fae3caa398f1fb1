import { Type } from 'typebox';
import { COPY_STREAMS, FENCE_DEADLINE_MS, GRACE_SECONDS, MAX_ORGS_PER_MOVE, MOVE_CONCURRENCY } from '../../api/rules.js';
import {
  AnyValue,
  Body,
  Count,
  Digits,
  Doc,
  Nullable,
  OrgId,
  Params,
  Percent,
  Query,
  Reason,
  ResourceId,
  Timestamp,
} from '../../http/schemas.js';
import { MOVE_STATES, READ_FROM } from './Move.js';

export const MoveId = Type.String({ pattern: '^mv_[0-9a-f]{16}$' });
export const BatchId = Type.String({ pattern: '^mb_[0-9a-f]{16}$' });
export const MoveStateSchema = Type.Enum(MOVE_STATES);
export const ReadFromSchema = Type.Enum(READ_FROM, {
  description:
    "Where a range move's bulk copy reads: 'replica' (a healthy replica of the source that has replayed past the capture's start; the primary when none has) or 'primary'.",
});
export const CopyStreams = Type.Integer(COPY_STREAMS);
const Span = Doc({ lo: OrgId, hi: OrgId });

export const CreateMovesBody = Body(
  {
    orgIds: Type.Optional(Type.Array(AnyValue, { minItems: 1, maxItems: MAX_ORGS_PER_MOVE })),
    from: Type.Optional(ResourceId),
    to: ResourceId,
    percent: Type.Optional(Percent),
    range: Type.Optional(Body({ lo: AnyValue, hi: AnyValue })),
    concurrency: Type.Optional(Type.Integer(MOVE_CONCURRENCY)),
    fenceDeadlineMs: Type.Optional(Type.Integer(FENCE_DEADLINE_MS)),
    graceSeconds: Type.Optional(Type.Integer(GRACE_SECONDS)),
    copyStreams: Type.Optional(CopyStreams),
    readFrom: Type.Optional(ReadFromSchema),
    reason: Type.Optional(Reason),
  },
  {
    description:
      'Which orgs: `orgIds` (one org move each), or `percent` of `from` (optionally within `range`), or `range` alone: ONE range move of the shard-map span (its orgs move together; the flip reassigns its ranges). `copyStreams` and `readFrom` apply to range moves.',
  },
);
export const MoveListQuery = Query({
  state: Type.Optional(Type.String({ description: `One of ${MOVE_STATES.join(', ')}.` })),
  batchId: Type.Optional(BatchId),
  orgId: Type.Optional(Type.String()),
  limit: Type.Optional(Digits),
  before: Type.Optional(MoveId),
});
export const MoveParams = Params({ id: Type.String() });
export const MoveActionBody = Body({ reason: Type.Optional(Reason) });

export const MoveProgress = Doc({
  rowsCopied: Count,
  bytesCopied: Count,
  changesPending: Count,
  lastFenceMs: Type.Optional(Type.Number({ minimum: 0, description: 'The write-block window of the last cutover (or rollback) attempt.' })),
});
export const MoveTable = Doc(
  {
    table: Type.String(),
    rowsCopied: Count,
    bytesCopied: Count,
    sourceRows: Nullable(Count),
    targetRows: Nullable(Count),
    sourceChecksum: Nullable(Type.String()),
    targetChecksum: Nullable(Type.String()),
    copiedAt: Nullable(Timestamp),
    estimatedRows: Nullable(Count),
  },
  { description: 'One tenant table of the move: what was copied, and the verification (null until verified).' },
);
export const MoveEvent = Doc({ at: Timestamp, state: MoveStateSchema, message: Type.String() });
export const Move = Doc(
  {
    id: MoveId,
    batchId: BatchId,
    kind: Type.Enum(['org', 'range']),
    orgId: Nullable(OrgId),
    range: Nullable(Span),
    pinnedOrgs: Count,
    copyStreams: CopyStreams,
    readFrom: ReadFromSchema,
    from: ResourceId,
    to: ResourceId,
    state: MoveStateSchema,
    attempt: Type.Integer({ minimum: 0 }),
    error: Type.Optional(Type.String()),
    fenceDeadlineMs: Type.Integer(FENCE_DEADLINE_MS),
    graceSeconds: Type.Integer(GRACE_SECONDS),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    flippedAt: Type.Optional(Timestamp),
    completedAt: Type.Optional(Timestamp),
    nextAttemptAt: Type.Optional(Timestamp),
    progress: MoveProgress,
    tables: Type.Optional(Type.Array(MoveTable)),
    events: Type.Optional(Type.Array(MoveEvent)),
  },
  {
    description:
      "Move: one org's move (`kind` 'org'), or a range move (`kind` 'range': every org of `range` but its `pinnedOrgs`). `tables` and `events` come with GET /v1/moves/:id.",
  },
);
export const MoveCounts = Type.Object(
  {},
  { additionalProperties: Count, propertyNames: MoveStateSchema, description: 'Moves per state (GET /v1/move-batches/:id).' },
);
export const MoveBatch = Doc(
  {
    id: BatchId,
    from: Nullable(ResourceId),
    to: ResourceId,
    percent: Nullable(Percent),
    range: Nullable(Span),
    concurrency: Type.Integer(MOVE_CONCURRENCY),
    fenceDeadlineMs: Type.Integer(FENCE_DEADLINE_MS),
    graceSeconds: Type.Integer(GRACE_SECONDS),
    reason: Nullable(Type.String()),
    actor: Type.String(),
    createdAt: Timestamp,
    counts: Type.Optional(MoveCounts),
    total: Type.Optional(Count),
  },
  { description: 'MoveBatch: the moves started by one POST /v1/moves; `from` is null for an `orgIds` batch.' },
);
export const CreatedMoves = Doc({ batch: MoveBatch, moves: Type.Array(Move) });
export const MoveList = Doc({ moves: Type.Array(Move) });
