// How a person reads a move: one title line, then a line per table. Used by the live
// view of `--follow` and by `moves show`.
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

/** `org 42  primary-1 -> primary-2  copying  12,345 rows  1.2 MB  lag 3  fence 87 ms`. */
export function moveTitle(m: Move): string {
  const parts = [`org ${m.orgId}`, `${m.from} -> ${m.to}`, m.state.replaceAll('_', ' ')];
  if (m.attempt > 1) parts.push(`attempt ${m.attempt}`);
  parts.push(`${count(m.progress.rowsCopied)} rows`, formatBytes(m.progress.bytesCopied));
  if (m.progress.changesPending > 0 || m.state === 'catching_up') parts.push(`lag ${count(m.progress.changesPending)} changes`);
  if (typeof m.progress.lastFenceMs === 'number') parts.push(`fence ${Math.round(m.progress.lastFenceMs)} ms`);
  return parts.join('  ');
}

/** A line per table (rows and bytes copied, verification), then why it waits or failed. */
export function moveDetailLines(m: Move): string[] {
  const tables = m.tables ?? [];
  const width = Math.max(0, ...tables.map((t) => t.table.length));
  const lines = tables.map(
    (t) =>
      `${t.table.padEnd(width)}  ${count(t.rowsCopied).padStart(11)} rows  ${formatBytes(t.bytesCopied).padStart(9)}${verification(t)}`,
  );
  if (m.state === 'waiting' && m.nextAttemptAt)
    lines.push(`the cutover missed its ${m.fenceDeadlineMs} ms deadline; next attempt at ${m.nextAttemptAt}`);
  if (m.error) lines.push(`error: ${m.error}`);
  return lines;
}

function verification(t: MoveTable): string {
  if (t.sourceChecksum === null || t.targetChecksum === null || t.sourceRows === null || t.targetRows === null) return '';
  return t.sourceRows === t.targetRows && t.sourceChecksum === t.targetChecksum
    ? '  verified'
    : `  MISMATCH source ${count(t.sourceRows)} rows, target ${count(t.targetRows)}`;
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
