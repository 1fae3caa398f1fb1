// The copy rate and time left of `--follow`, measured between successive polls of a move.
// Pure, so that what an operator reads off the live view is pinned by unit tests: the
// view samples each table (and the move as a whole) at every poll and asks what to show.
import type { Move, MoveTable } from './types.js';

/** One reading of a copy's progress, at the follower's clock. */
export interface CopySample {
  atMs: number;
  rows: number;
  bytes: number;
}

/** The last reading and the smoothed rate up to it; a rate is null until one is measured. */
export interface CopyRate {
  last: CopySample;
  rowsPerSecond: number | null;
  bytesPerSecond: number | null;
}

/**
 * Time constant of the smoothing. The executor records progress about every 0.5 s and the
 * view polls about as often, so successive deltas alternate between nothing and twice the
 * rate; weighting each by the time it covers (an exponential moving average over ~5 s)
 * keeps the figure steady without hiding a real slow-down for long.
 */
export const SMOOTHING_MS = 5000;

/**
 * Below this the copy is as good as stalled (paused for replica lag, waiting for a lock):
 * a time left computed from it would be a number of days that means nothing.
 */
export const MIN_ROWS_PER_SECOND = 1;

/** The rate after one more reading. */
export function nextRate(prev: CopyRate | undefined, sample: CopySample, smoothingMs = SMOOTHING_MS): CopyRate {
  const unmeasured = { last: sample, rowsPerSecond: null, bytesPerSecond: null };
  if (prev === undefined) return unmeasured;
  // Fewer rows than last time: the table is being copied again from the start (a resumed
  // move copies a table without copiedAt anew). What was measured before says nothing about
  // the new attempt, and a negative delta must never become a rate.
  if (sample.rows < prev.last.rows || sample.bytes < prev.last.bytes) return unmeasured;
  const elapsedMs = sample.atMs - prev.last.atMs;
  // Two readings at the same instant (or the clock stepped back) measure nothing.
  if (!(elapsedMs > 0)) return prev;
  const rows = ((sample.rows - prev.last.rows) * 1000) / elapsedMs;
  const bytes = ((sample.bytes - prev.last.bytes) * 1000) / elapsedMs;
  // Nothing copied yet and nothing measured: the copy has not started (a table waiting its
  // turn). Starting the average at zero would understate the rate for seconds once it does.
  if (prev.rowsPerSecond === null && rows === 0 && bytes === 0) return { ...prev, last: sample };
  if (prev.rowsPerSecond === null || prev.bytesPerSecond === null) return { last: sample, rowsPerSecond: rows, bytesPerSecond: bytes };
  const weight = 1 - Math.exp(-elapsedMs / smoothingMs);
  return {
    last: sample,
    rowsPerSecond: prev.rowsPerSecond + weight * (rows - prev.rowsPerSecond),
    bytesPerSecond: prev.bytesPerSecond + weight * (bytes - prev.bytesPerSecond),
  };
}

/** Seconds until `remainingRows` are copied at `rowsPerSecond`: 0 when none remain, null when it cannot be said. */
export function secondsLeft(remainingRows: number, rowsPerSecond: number | null): number | null {
  if (remainingRows <= 0) return 0;
  if (rowsPerSecond === null || !(rowsPerSecond >= MIN_ROWS_PER_SECOND) || !Number.isFinite(rowsPerSecond)) return null;
  return remainingRows / rowsPerSecond;
}

/** A range move's rates: the move as a whole, and each table by name. */
export interface MoveRates {
  overall: CopyRate;
  tables: Map<string, CopyRate>;
}

/** Each move's rates after a poll that answered `moves` at `atMs` (moves no longer answered are dropped). */
export function trackRates(prev: ReadonlyMap<string, MoveRates>, moves: readonly Move[], atMs: number): Map<string, MoveRates> {
  const next = new Map<string, MoveRates>();
  for (const m of moves) {
    const before = prev.get(m.id);
    const tables = new Map<string, CopyRate>();
    // A move listed without its tables (a big batch) keeps what was measured of them.
    for (const t of m.tables ?? [])
      tables.set(t.table, nextRate(before?.tables.get(t.table), { atMs, rows: t.rowsCopied, bytes: t.bytesCopied }));
    if (m.tables === undefined && before) for (const [name, rate] of before.tables) tables.set(name, rate);
    const overall = nextRate(before?.overall, { atMs, rows: m.progress.rowsCopied, bytes: m.progress.bytesCopied });
    next.set(m.id, { overall, tables });
  }
  return next;
}

/** What the view shows of a rate: rows/s, bytes/s and the time left (each null when unknown). */
export interface CopyEta {
  rowsPerSecond: number | null;
  bytesPerSecond: number | null;
  secondsLeft: number | null;
}

/** Rows of a table still to copy: none once it is done, else its estimate less what is copied; null without an estimate. */
export function remainingRows(t: MoveTable): number | null {
  if (t.copiedAt !== null) return 0;
  if (t.estimatedRows === null) return null;
  return Math.max(0, t.estimatedRows - t.rowsCopied);
}

/** The table's rate and time left; null for a table that is done or has no estimate (an org move's). */
export function tableEta(t: MoveTable, rate: CopyRate | undefined): CopyEta | null {
  const remaining = remainingRows(t);
  if (remaining === null || t.copiedAt !== null) return null;
  return {
    rowsPerSecond: rate?.rowsPerSecond ?? null,
    bytesPerSecond: rate?.bytesPerSecond ?? null,
    secondsLeft: secondsLeft(remaining, rate?.rowsPerSecond ?? null),
  };
}

/** The whole move's rate and time left over its tables; null unless every table has an estimate and one is still to copy. */
export function overallEta(m: Move, rates: MoveRates | undefined): CopyEta | null {
  const tables = m.tables ?? [];
  if (tables.length === 0) return null;
  let remaining = 0;
  for (const t of tables) {
    const left = remainingRows(t);
    if (left === null) return null;
    remaining += left;
  }
  if (tables.every((t) => t.copiedAt !== null)) return null;
  const rate = rates?.overall;
  return {
    rowsPerSecond: rate?.rowsPerSecond ?? null,
    bytesPerSecond: rate?.bytesPerSecond ?? null,
    secondsLeft: secondsLeft(remaining, rate?.rowsPerSecond ?? null),
  };
}
