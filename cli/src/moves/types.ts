// The control plane's move documents as control-plane/API.md "Org moves" fixes them, taken
// from the control plane so the two cannot drift; cli/schemas/ is generated from the same schemas.
// `@orgplane/control-plane/moves` is the module of the move shapes alone: importing its
// MOVE_STATES does not load the server.
import type { Move, MoveBatch, MoveState } from '@orgplane/control-plane/moves';

export type { Move, MoveBatch, MoveEvent, MoveProgress, MoveState, MoveTable } from '@orgplane/control-plane/moves';
export { MOVE_STATES } from '@orgplane/control-plane/moves';

/**
 * Where `--follow` stops watching a move: nothing more happens to it without an operator
 * (or, for `flipped`, the grace period). `waiting` is not one of them: the executor retries
 * the cutover by itself at `nextAttemptAt`, so following goes on through it.
 */
export const RESTING_STATES: ReadonlySet<MoveState> = new Set(['flipped', 'completed', 'failed', 'aborted', 'rolled_back']);

/** Resting states in which the move did what was asked of it: the org (or the range) is served by the target. */
export const ARRIVED_STATES: ReadonlySet<MoveState> = new Set(['flipped', 'completed']);

/** POST /v1/moves. */
export interface CreateMovesAnswer {
  batch: MoveBatch;
  moves: Move[];
}
