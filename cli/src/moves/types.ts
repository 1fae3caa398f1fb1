// The control plane's move documents as control-plane/API.md "Org moves" fixes them.
// The CLI passes them through to --json unchanged; cli/schemas/defs/moves.json mirrors them.

export const MOVE_STATES = [
  'pending',
  'preparing',
  'copying',
  'catching_up',
  'cutting_over',
  'flipped',
  'completing',
  'completed',
  'waiting',
  'failed',
  'aborting',
  'aborted',
  'rolling_back',
  'rolled_back',
] as const;

export type MoveState = (typeof MOVE_STATES)[number];

/**
 * Where `--follow` stops watching a move: nothing more happens to it without an operator
 * (or, for `flipped`, the grace period). `waiting` is not one of them: the executor retries
 * the cutover by itself at `nextAttemptAt`, so following goes on through it.
 */
export const RESTING_STATES: ReadonlySet<MoveState> = new Set(['flipped', 'completed', 'failed', 'aborted', 'rolled_back']);

/** Resting states in which the move did what was asked of it: the org is served by the target. */
export const ARRIVED_STATES: ReadonlySet<MoveState> = new Set(['flipped', 'completed']);

export interface MoveProgress {
  rowsCopied: number;
  bytesCopied: number;
  changesPending: number;
  lastFenceMs?: number | null;
}

export interface MoveTable {
  table: string;
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

export interface Move {
  id: string;
  batchId: string;
  orgId: number;
  from: string;
  to: string;
  state: MoveState;
  attempt: number;
  error?: string | null;
  fenceDeadlineMs: number;
  graceSeconds: number;
  createdAt: string;
  updatedAt: string;
  flippedAt?: string | null;
  completedAt?: string | null;
  nextAttemptAt?: string | null;
  progress: MoveProgress;
  tables?: MoveTable[];
  events?: MoveEvent[];
}

export interface MoveBatch {
  id: string;
  [key: string]: unknown;
}

/** POST /v1/moves. */
export interface CreateMovesAnswer {
  batch: MoveBatch;
  moves: Move[];
}
