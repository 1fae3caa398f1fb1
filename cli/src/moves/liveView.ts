// The live view of `--follow`: a listr2 task per move (its phase, rows and bytes copied,
// lag and fence window in the title, a line per table under it; a range move's rows count
// against the span's estimate, with the rate measured between polls and the time left),
// or for a batch too big to list one task with the counts by state and the moves being
// worked on. It draws on stderr, like the lab's steps (cli/src/lab/liveSteps.ts), and
// only for a person at a terminal: under --json or without a terminal nothing is drawn,
// and this module (and listr2) is not even loaded (see follow.ts).
import { DefaultRenderer, Listr, ListrLogger, type ListrTask, PRESET_TIMER, ProcessOutput, SimpleRenderer } from 'listr2';
import { type MoveRates, trackRates } from './copyRate.js';
import { ACTIVE_STATES, isResting } from './followMoves.js';
import { batchTitle, moveDetailLines, moveTitle } from './format.js';
import { ARRIVED_STATES, type Move } from './types.js';

/** Above this many moves the view is one task for the whole batch. */
export const TASK_PER_MOVE_MAX = 10;

export interface MovesView {
  update(moves: Move[]): void;
  /** Ends the view (tasks still moving end as skipped) once it has drawn its last frame. */
  close(): Promise<void>;
}

/** stdout carries the command's result, so the task list draws on stderr whatever stdout is. */
class StderrRenderer extends DefaultRenderer {
  static override nonTTY = true;
}

/** What every task reads; listr2 pulls state from tasks, so each update wakes them all. */
class Shared {
  private waiters: (() => void)[] = [];
  stopped = false;
  /** Each move's copy rates, measured between the updates (the polls). */
  rates: Map<string, MoveRates>;
  constructor(
    public moves: Move[],
    private readonly now: () => number,
  ) {
    this.rates = trackRates(new Map(), moves, now());
  }

  set(moves: Move[]): void {
    this.moves = moves;
    this.rates = trackRates(this.rates, moves, this.now());
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

interface Look {
  title: string;
  output: string;
  /** Set once the task should end: 'done', or a reason to show it skipped, or an Error. */
  end?: 'done' | string | Error;
}

type Looker = (moves: Move[], rates: ReadonlyMap<string, MoveRates>) => Look;

function watchTask(shared: Shared, look: Looker): ListrTask {
  return {
    title: look(shared.moves, shared.rates).title,
    // The last output only: each update sets the whole multi-line picture.
    rendererOptions: { outputBar: true, persistentOutput: true },
    task: async (_ctx, task) => {
      for (;;) {
        const now = look(shared.moves, shared.rates);
        task.title = now.title;
        task.output = now.output;
        const end = now.end ?? (shared.stopped ? 'stopped following' : undefined);
        if (end instanceof Error) throw end;
        if (end === 'done') return;
        if (end !== undefined) return task.skip(`${now.title} (${end})`);
        await shared.changed();
      }
    },
  };
}

function moveLook(id: string): Looker {
  return (moves, rates) => {
    const m = moves.find((x) => x.id === id) as Move;
    const look: Look = { title: moveTitle(m, rates.get(id)), output: moveDetailLines(m, rates.get(id)).join('\n') };
    if (!isResting(m)) return look;
    if (ARRIVED_STATES.has(m.state)) return { ...look, end: 'done' };
    if (m.state === 'failed') return { ...look, end: new Error(m.error ?? 'failed') };
    return { ...look, end: m.state };
  };
}

function batchLook(moves: Move[], rates: ReadonlyMap<string, MoveRates>): Look {
  const look: Look = {
    title: batchTitle(moves),
    output: moves
      .filter((m) => ACTIVE_STATES.has(m.state) || m.state === 'failed')
      .flatMap((m) => [moveTitle(m, rates.get(m.id)), ...moveDetailLines(m, rates.get(m.id)).map((l) => `  ${l}`)])
      .join('\n'),
  };
  if (!moves.every(isResting)) return look;
  return {
    ...look,
    end: moves.some((m) => m.state === 'failed') ? new Error('some moves failed: `orgplane moves list --state failed`') : 'done',
  };
}

/** A live view on stderr; one line per event when the terminal reports no width. `now` is injected in tests. */
export function liveView(first: Move[], opts: { now?: () => number } = {}): MovesView {
  const shared = new Shared(first, opts.now ?? Date.now);
  const tasks = first.length <= TASK_PER_MOVE_MAX ? first.map((m) => watchTask(shared, moveLook(m.id))) : [watchTask(shared, batchLook)];
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  const sized = Boolean(process.stderr.columns) && process.stdout.columns !== 0;
  const list = new Listr(tasks, {
    concurrent: true,
    exitOnError: false,
    renderer: sized ? StderrRenderer : SimpleRenderer,
    rendererOptions: sized ? { logger, timer: PRESET_TIMER, collapseSkips: false, collapseErrors: false } : { logger, timer: PRESET_TIMER },
    // Ctrl-C is the command's to handle: it stops following, the moves go on.
    registerSignalListeners: false,
  });
  // A failed move fails its task; the command reports the outcome from the documents.
  const running = list.run().catch(() => undefined);
  return {
    update: (moves) => shared.set(moves),
    async close() {
      shared.stop();
      await running;
    },
  };
}
