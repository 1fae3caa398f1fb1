// Moves for people: a table of moves, or one move with its tables and events.
import { formatTable } from '../table.js';
import { formatBytes, moveDetailLines, moveSubject, moveTitle, rangeMoveLines, spanOf } from './format.js';
import type { Move } from './types.js';

export function renderMoves(moves: Move[], log: (line: string) => void): void {
  if (moves.length === 0) {
    log('No moves.');
    return;
  }
  const rows = moves.map((m) => ({
    id: m.id,
    // A range move's span goes where an org move's org id does: both say what moves.
    org: spanOf(m) === null ? m.orgId : moveSubject(m),
    from: m.from,
    to: m.to,
    state: m.state,
    attempt: m.attempt,
    rows: m.progress.rowsCopied.toLocaleString('en-US'),
    bytes: formatBytes(m.progress.bytesCopied),
    fenceMs: typeof m.progress.lastFenceMs === 'number' ? Math.round(m.progress.lastFenceMs) : undefined,
    updatedAt: m.updatedAt,
  }));
  log(formatTable(rows, ['id', 'org', 'from', 'to', 'state', 'attempt', 'rows', 'bytes', 'fenceMs', 'updatedAt']));
}

export function renderMove(m: Move, log: (line: string) => void): void {
  log(`${m.id} (batch ${m.batchId})`);
  log(moveTitle(m));
  for (const line of rangeMoveLines(m)) log(line);
  for (const line of moveDetailLines(m)) log(`  ${line}`);
  const times = [
    ['created', m.createdAt],
    ['flipped', m.flippedAt],
    ['completed', m.completedAt],
  ].filter(([, at]) => at);
  log(times.map(([what, at]) => `${what} ${at}`).join(', '));
  if (m.events?.length) {
    log('');
    log(formatTable(m.events as unknown as Record<string, unknown>[], ['at', 'state', 'message']));
  }
  const next = nextStep(m);
  if (next) log(`\nNext: ${next}`);
}

/** What an operator can do with a move in its state. */
export function nextStep(m: Move): string | undefined {
  const what = spanOf(m) === null ? 'the org' : 'the range';
  switch (m.state) {
    case 'flipped':
      return `served by ${m.to}; \`orgplane moves complete ${m.id}\` deletes the source rows now (else after the grace period), \`orgplane moves rollback ${m.id}\` routes ${what} back`;
    case 'failed':
      return `served by ${m.from}; fix the cause, then \`orgplane moves resume ${m.id}\`, or give up with \`orgplane moves abort ${m.id}\``;
    case 'waiting':
      return `retried at ${m.nextAttemptAt ?? 'its next attempt'}; \`orgplane moves resume ${m.id}\` retries now`;
    default:
      return undefined;
  }
}
