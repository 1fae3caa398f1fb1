// Moves as the control plane answers them, for the CLI's tests of what it draws and computes.
import type { Move, MoveState, MoveTable } from '../src/moves/types.js';

/** A move as the control plane answers it: a flipped one always carries its fence window. */
export function move(id: string, state: MoveState, extra: Partial<Move> = {}): Move {
  return {
    id,
    batchId: 'mb_1',
    kind: 'org',
    orgId: Number(id.replace(/\D/g, '')),
    range: null,
    pinnedOrgs: 0,
    copyStreams: 1,
    readFrom: 'primary',
    from: 'primary-1',
    to: 'primary-2',
    state,
    attempt: 1,
    fenceDeadlineMs: 1000,
    graceSeconds: 3600,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    progress: { rowsCopied: 0, bytesCopied: 0, changesPending: 0, ...(state === 'flipped' ? { lastFenceMs: 8 } : {}) },
    ...extra,
  };
}

/** A range move's table as GET /v1/moves/:id answers it while the move copies. */
export function rangeTable(table: string, estimatedRows: number, rowsCopied: number, extra: Partial<MoveTable> = {}): MoveTable {
  return {
    table,
    estimatedRows,
    rowsCopied,
    bytesCopied: rowsCopied * 100,
    sourceRows: null,
    targetRows: null,
    sourceChecksum: null,
    targetChecksum: null,
    copiedAt: null,
    ...extra,
  };
}

export function rangeMove(state: MoveState, tables: MoveTable[], extra: Partial<Move> = {}): Move {
  return move('mv_77', state, {
    kind: 'range',
    orgId: null,
    range: { lo: 1, hi: 5000 },
    pinnedOrgs: 3,
    copyStreams: 4,
    readFrom: 'replica',
    to: 'primary-4',
    progress: {
      rowsCopied: tables.reduce((n, t) => n + t.rowsCopied, 0),
      bytesCopied: tables.reduce((n, t) => n + t.bytesCopied, 0),
      changesPending: 0,
    },
    tables,
    ...extra,
  });
}
