// How a person reads a move: one title line, then a line per table. Used by the live
// view of `--follow` (with the rates it measured, see copyRate.ts) and by `moves show`.
import { type CopyEta, type MoveRates, overallEta, tableEta } from './copyRate.js';
import type { Move, MoveState, MoveTable } from './types.js';

const count = (n: number): string => n.toLocaleString('en-US');

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** `1 s`, `4 min 05 s`, `2 h 07 min`: a time left, rounded up (never "0 s" while rows remain). */
export function formatDuration(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const minutes = Math.ceil(s / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** `12,345 rows/s  4.2 MB/s  3 min 10 s left`, leaving out what is not known yet. */
export function formatEta(eta: CopyEta): string {
  const parts: string[] = [];
  if (eta.rowsPerSecond !== null) parts.push(`${count(Math.round(eta.rowsPerSecond))} rows/s`);
  if (eta.bytesPerSecond !== null) parts.push(`${(eta.bytesPerSecond / 1e6).toFixed(1)} MB/s`);
  if (eta.secondsLeft !== null && eta.secondsLeft > 0) parts.push(`${formatDuration(eta.secondsLeft)} left`);
  return parts.join('  ');
}

/** A range move's span as `lo-hi` (the form `--range` takes); null for an org move. */
export function spanOf(m: Move): string | null {
  return m.kind === 'range' && m.range ? `${m.range.lo}-${m.range.hi}` : null;
}

/** What moves: `org 42`, or a range move's `range 1-5000`. */
export function moveSubject(m: Move): string {
  const span = spanOf(m);
  return span === null ? `org ${m.orgId}` : `range ${span}`;
}

/** The span's rows to copy, counted when the move prepared; null for an org move (and a range move not prepared yet). */
function estimatedRows(m: Move): number | null {
  const tables = m.tables ?? [];
  if (tables.length === 0 || tables.some((t) => t.estimatedRows === null)) return null;
  return tables.reduce((n, t) => n + (t.estimatedRows ?? 0), 0);
}

/** `12,345 of 50,000 rows (24.7%)`, or `12,345 rows` without an estimate. */
function rowsOf(copied: number, estimated: number | null): string {
  if (estimated === null) return `${count(copied)} rows`;
  if (estimated === 0) return `${count(copied)} of 0 rows`;
  // The estimate is a count taken when the move prepared; rows written since may take the
  // copy a little past it.
  const percent = Math.min(100, (copied * 100) / estimated);
  return `${count(copied)} of ${count(estimated)} rows (${percent.toFixed(1)}%)`;
}

/**
 * `org 42  primary-1 -> primary-2  copying  12,345 rows  1.2 MB  lag 3 changes  fence 87 ms`;
 * a range move counts its rows against the span's estimate and, while it copies and
 * `rates` are given (the live view), says how fast and how long is left.
 */
export function moveTitle(m: Move, rates?: MoveRates): string {
  const parts = [moveSubject(m), `${m.from} -> ${m.to}`, m.state.replaceAll('_', ' ')];
  if (m.attempt > 1) parts.push(`attempt ${m.attempt}`);
  parts.push(rowsOf(m.progress.rowsCopied, estimatedRows(m)), formatBytes(m.progress.bytesCopied));
  if (rates && m.state === 'copying') {
    const eta = overallEta(m, rates);
    const text = eta ? formatEta(eta) : '';
    if (text) parts.push(text);
  }
  if (m.progress.changesPending > 0 || m.state === 'catching_up') parts.push(`lag ${count(m.progress.changesPending)} changes`);
  if (typeof m.progress.lastFenceMs === 'number') parts.push(`fence ${Math.round(m.progress.lastFenceMs)} ms`);
  return parts.join('  ');
}

/**
 * A line per table (rows copied, of the estimate for a range move, bytes, verification),
 * then why it waits or failed. With `rates` (the live view), a range move's tables still
 * copying say how fast and how long is left.
 */
export function moveDetailLines(m: Move, rates?: MoveRates): string[] {
  const tables = m.tables ?? [];
  const width = Math.max(0, ...tables.map((t) => t.table.length));
  const rows = tables.map((t) => rowsOf(t.rowsCopied, t.estimatedRows));
  const rowsWidth = Math.max(16, ...rows.map((r) => r.length));
  const lines = tables.map((t, i) => {
    const line = `${t.table.padEnd(width)}  ${(rows[i] ?? '').padStart(rowsWidth)}  ${formatBytes(t.bytesCopied).padStart(9)}`;
    return line + (verification(t) || copyState(m, t, rates));
  });
  if (m.state === 'waiting' && m.nextAttemptAt)
    lines.push(`the cutover missed its ${m.fenceDeadlineMs} ms deadline; next attempt at ${m.nextAttemptAt}`);
  if (m.error) lines.push(`error: ${m.error}`);
  return lines;
}

/** A range move's table before its verification: copied, or its rate and time left while it copies. */
function copyState(m: Move, t: MoveTable, rates: MoveRates | undefined): string {
  if (t.estimatedRows === null) return '';
  if (t.copiedAt !== null) return '  copied';
  if (!rates || m.state !== 'copying') return '';
  const eta = tableEta(t, rates.tables.get(t.table));
  const text = eta ? formatEta(eta) : '';
  return text ? `  ${text}` : '';
}

function verification(t: MoveTable): string {
  if (t.sourceChecksum === null || t.targetChecksum === null || t.sourceRows === null || t.targetRows === null) return '';
  return t.sourceRows === t.targetRows && t.sourceChecksum === t.targetChecksum
    ? '  verified'
    : `  MISMATCH source ${count(t.sourceRows)} rows, target ${count(t.targetRows)}`;
}

/**
 * A range move's span and how it copies: `span 1-5000: every org but 3 pinned ones (left
 * alone, their pins stay)`, `copy: 4 parallel streams, read from a replica of primary-1
 * ...`. Nothing for an org move.
 */
export function rangeMoveLines(m: Move): string[] {
  if (spanOf(m) === null) return [];
  const span = `span ${spanOf(m)}`;
  const pinned =
    m.pinnedOrgs === 0
      ? `${span}: every org of it moves (none is pinned)`
      : `${span}: every org but ${count(m.pinnedOrgs)} pinned (left alone where their pins put them)`;
  const streams = `${m.copyStreams} parallel COPY stream${m.copyStreams === 1 ? '' : 's'}`;
  const from =
    m.readFrom === 'replica'
      ? `reading from a healthy replica of ${m.from} that has replayed past the capture's start (else its primary)`
      : `reading from ${m.from}'s primary`;
  return [pinned, `copy: ${streams}, ${from}`];
}

export function countByState(moves: Move[]): Partial<Record<MoveState, number>> {
  const counts: Partial<Record<MoveState, number>> = {};
  for (const m of moves) counts[m.state] = (counts[m.state] ?? 0) + 1;
  return counts;
}

/** `1,000 moves: 120 flipped, 4 copying, 876 pending`. */
export function batchTitle(moves: Move[]): string {
  const counts = Object.entries(countByState(moves))
    .sort(([, a], [, b]) => b - a)
    .map(([state, n]) => `${count(n)} ${state.replaceAll('_', ' ')}`);
  return `${count(moves.length)} moves: ${counts.join(', ')}`;
}
