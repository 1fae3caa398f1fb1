// `--follow`: poll the control plane until every move of a batch rests (RESTING_STATES),
// handing each round of answers to a view. Moves run in the control plane, not here:
// stopping to follow (Ctrl-C, a lost connection) stops nothing.
import { sleep } from '@orgplane/kit';
import type { ApiClient } from '../apiClient.js';
import { CliError, ExitCode } from '../errors.js';
import { type Move, type MoveState, RESTING_STATES } from './types.js';

/** Up to this many moves, each is read with its tables and events; above, the batch is listed. */
export const DETAILED_MOVES_MAX = 16;
/** The API answers at most 1000 moves a page. */
export const PAGE = 1000;
/** The control plane may restart under a move (it resumes it): keep asking this long. */
const UNREACHABLE_GRACE_MS = 60_000;

/** States in which a move is being worked on right now: the view shows their tables. */
export const ACTIVE_STATES: ReadonlySet<MoveState> = new Set([
  'preparing',
  'copying',
  'catching_up',
  'cutting_over',
  'completing',
  'aborting',
  'rolling_back',
]);

export interface FollowOptions {
  /** The moves to follow, in the order to show them. */
  moves: Move[];
  /** Their batch, for listing more than DETAILED_MOVES_MAX moves in pages. */
  batchId?: string;
  intervalMs?: number;
  /** Called after every round with the latest state of every move, in order. */
  onUpdate?: (moves: Move[]) => void;
  signal?: AbortSignal;
  /** Injected in tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

export const isResting = (m: Move): boolean => RESTING_STATES.has(m.state);

/** The executor records a flip's fence window just after the flip: ask this many more rounds for it. */
const FENCE_RECORD_ROUNDS = 10;
const fenceKnown = (m: Move): boolean => m.state !== 'flipped' || typeof m.progress.lastFenceMs === 'number';
const settled = (m: Move): boolean => isResting(m) && fenceKnown(m);

/** Resolves with every move in a resting state, in the order given. */
export async function followMoves(api: ApiClient, opts: FollowOptions): Promise<Move[]> {
  const sleep = opts.sleep ?? abortableSleep;
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? 500;
  const order = opts.moves.map((m) => m.id);
  const latest = new Map(opts.moves.map((m) => [m.id, m]));
  const current = () => order.map((id) => latest.get(id) as Move);
  let unreachableSince: number | null = null;

  let roundsForFence = 0;
  const done = () => current().every(isResting) && (current().every(fenceKnown) || roundsForFence++ >= FENCE_RECORD_ROUNDS);
  opts.onUpdate?.(current());
  while (!done()) {
    await sleep(interval, opts.signal);
    try {
      for (const m of await readRound(api, current(), opts.batchId)) if (latest.has(m.id)) latest.set(m.id, m);
      unreachableSince = null;
    } catch (err) {
      if (!(err instanceof CliError) || err.code !== 'CONTROL_PLANE_UNREACHABLE') throw err;
      unreachableSince ??= now();
      if (now() - unreachableSince > UNREACHABLE_GRACE_MS) throw err;
      continue;
    }
    opts.onUpdate?.(current());
  }
  return current();
}

async function readRound(api: ApiClient, moves: Move[], batchId: string | undefined): Promise<Move[]> {
  const unsettled = moves.filter((m) => !settled(m));
  if (moves.length <= DETAILED_MOVES_MAX || !batchId) {
    return Promise.all(unsettled.map((m) => api.get<Move>(`/v1/moves/${encodeURIComponent(m.id)}`)));
  }
  const listed = await listBatch(api, batchId);
  // Only the few being worked on need their tables; the rest show as counts.
  const active = listed.filter((m) => ACTIVE_STATES.has(m.state)).slice(0, DETAILED_MOVES_MAX);
  const detailed = await Promise.all(active.map((m) => api.get<Move>(`/v1/moves/${encodeURIComponent(m.id)}`)));
  const byId = new Map(detailed.map((m) => [m.id, m]));
  return listed.map((m) => byId.get(m.id) ?? m);
}

/** Every move of a batch, page by page (newest first, as GET /v1/moves answers). */
export async function listBatch(api: ApiClient, batchId: string): Promise<Move[]> {
  const all: Move[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await api.get<{ moves: Move[] }>('/v1/moves', { batchId, limit: PAGE, before });
    all.push(...page.moves);
    if (page.moves.length < PAGE) return all;
    before = page.moves.at(-1)?.id;
  }
}

async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!(await sleep(ms, { signal }))) throw followStopped();
}

export function followStopped(batchId?: string): CliError {
  return new CliError(
    'FOLLOW_STOPPED',
    'stopped following; the moves go on in the control plane',
    batchId ? `see them with \`orgplane moves list --batch ${batchId}\`` : 'see them with `orgplane moves list`',
    ExitCode.failure,
  );
}
