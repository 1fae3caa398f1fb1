// A move as the API shows it (control-plane/API.md "Org moves"), and its state machine.
import type { WirePlacement } from '@orgplane/runtime/wire';
import type { TenantMover, TenantMoverOptions } from './tenant/TenantMover.js';

/** Makes the tenant side of one move; injected so the executor can be tested and swapped. */
export type TenantMoverFactory = (options: TenantMoverOptions) => TenantMover;

export const MOVE_STATES = [
  'pending',
  'preparing',
  'copying',
  'catching_up',
  'cutting_over',
  'waiting',
  'flipped',
  'completing',
  'completed',
  'failed',
  'aborting',
  'aborted',
  'rolling_back',
  'rolled_back',
] as const;
export type MoveState = (typeof MOVE_STATES)[number];

/** States a move never leaves. */
export const FINISHED_STATES: readonly MoveState[] = ['completed', 'aborted', 'rolled_back'];

/** Before the flip: the source still serves the org, so `abort` may drop the copy. */
export const ABORTABLE_STATES: readonly MoveState[] = ['pending', 'preparing', 'copying', 'catching_up', 'waiting', 'failed'];

export interface MoveProgress {
  rowsCopied: number;
  bytesCopied: number;
  changesPending: number;
  lastFenceMs?: number;
}

export interface MoveTable {
  table: string;
  /** Rows of the table in a range move's span, counted when it prepared; null for an org move. */
  estimatedRows: number | null;
  rowsCopied: number;
  bytesCopied: number;
  sourceRows: number | null;
  targetRows: number | null;
  sourceChecksum: string | null;
  targetChecksum: string | null;
  copiedAt: string | null;
}

export interface MoveEvent {
  at: string;
  state: MoveState;
  message: string;
}

export type MoveKind = 'org' | 'range';
export const READ_FROM = ['replica', 'primary'] as const;
export type ReadFrom = (typeof READ_FROM)[number];

export interface Move {
  id: string;
  batchId: string;
  /** 'org': one org; 'range': every org of a shard-map span, flipped by reassigning its ranges. */
  kind: MoveKind;
  /** The org of an org move; null for a range move. */
  orgId: number | null;
  /** The span of a range move; null for an org move. */
  range: { lo: number; hi: number } | null;
  /** Orgs of the span left alone because they are pinned (0 for an org move). */
  pinnedOrgs: number;
  /** Parallel COPY streams of the bulk copy. */
  copyStreams: number;
  /** Where the bulk copy reads: a healthy replica of the source past the capture's start, or the primary. */
  readFrom: ReadFrom;
  from: string;
  to: string;
  state: MoveState;
  attempt: number;
  error?: string;
  fenceDeadlineMs: number;
  graceSeconds: number;
  createdAt: string;
  updatedAt: string;
  flippedAt?: string;
  completedAt?: string;
  nextAttemptAt?: string;
  progress: MoveProgress;
  tables?: MoveTable[];
  events?: MoveEvent[];
}

/** What the executor needs beyond the API view. */
export interface MoveRecord extends Move {
  seq: number;
  resumeState: MoveState | null;
  failures: number;
  /** The org's pin before the move; null when its range routed it (and for a range move). */
  priorPlacement: WirePlacement | null;
  /** A range move's pinned orgs, left alone. */
  pinnedOrgIds: number[];
}

export interface MoveBatch {
  id: string;
  from: string | null;
  to: string;
  percent: number | null;
  range: { lo: number; hi: number } | null;
  concurrency: number;
  fenceDeadlineMs: number;
  graceSeconds: number;
  reason: string | null;
  actor: string;
  createdAt: string;
  /** Filled by GET /v1/move-batches/:id: moves per state, and their total. */
  counts?: Partial<Record<MoveState, number>>;
  total?: number;
}

/** The API view of a record: the executor's bookkeeping stays inside. */
export function toMove(record: MoveRecord): Move {
  const { seq: _seq, resumeState: _resume, failures: _failures, priorPlacement: _prior, pinnedOrgIds: _pinned, ...move } = record;
  return move;
}
