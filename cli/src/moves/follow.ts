// One `--follow` as commands run it: the live view for people, Ctrl-C stops following
// (never the moves), and the outcome that decides the exit code.
import type { ApiClient } from '../apiClient.js';
import { followMoves, followStopped } from './followMoves.js';
import type { MovesView } from './liveView.js';
import { ARRIVED_STATES, type Move } from './types.js';

/** `arrived`: every move is flipped or completed; `stopped`: one failed, was aborted or rolled back. */
export type FollowOutcome = 'arrived' | 'stopped';

export interface Followed {
  moves: Move[];
  outcome: FollowOutcome;
}

const quietView: MovesView = { update() {}, close: async () => {} };

/** The live view for a person at a terminal, else nothing; listr2 loads only for the former. */
async function movesView(json: boolean, first: Move[]): Promise<MovesView> {
  if (json || !process.stderr.isTTY) return quietView;
  const { liveView } = await import('./liveView.js');
  return liveView(first);
}

export async function followWithView(
  api: ApiClient,
  first: Move[],
  opts: { json: boolean; batchId?: string; arrived?: ReadonlySet<string> },
): Promise<Followed> {
  const view = await movesView(opts.json, first);
  const interrupted = new AbortController();
  const onSigint = () => interrupted.abort();
  process.once('SIGINT', onSigint);
  try {
    const moves = await followMoves(api, {
      moves: first,
      batchId: opts.batchId,
      onUpdate: (m) => view.update(m),
      signal: interrupted.signal,
    });
    const arrived = opts.arrived ?? ARRIVED_STATES;
    return { moves, outcome: moves.every((m) => arrived.has(m.state)) ? 'arrived' : 'stopped' };
  } catch (err) {
    if (interrupted.signal.aborted) throw followStopped(opts.batchId);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    await view.close();
  }
}
