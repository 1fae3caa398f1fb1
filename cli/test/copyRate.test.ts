// The rate and time left that `--follow` shows for a range move, from successive polls:
// exact values at the edges an operator would notice (a copy not started, a table copied
// again from the start, a stall, tables done), never Infinity or NaN.
import { describe, expect, it } from 'vitest';
import {
  type CopyRate,
  MIN_ROWS_PER_SECOND,
  nextRate,
  overallEta,
  remainingRows,
  SMOOTHING_MS,
  secondsLeft,
  tableEta,
  trackRates,
} from '../src/moves/copyRate.js';
import { formatDuration, formatEta } from '../src/moves/format.js';
import type { Move, MoveTable } from '../src/moves/types.js';
import { rangeMove, rangeTable } from './moveFixtures.js';

const at = (atMs: number, rows: number, bytes = rows * 100) => ({ atMs, rows, bytes });

/** Feeds readings one after another, as the view does at each poll. */
function feed(...samples: { atMs: number; rows: number; bytes: number }[]): CopyRate {
  let rate: CopyRate | undefined;
  for (const s of samples) rate = nextRate(rate, s);
  return rate as CopyRate;
}

/** A table of 1,000 estimated rows, nothing copied yet, unless `extra` says otherwise. */
const table = (name: string, extra: Partial<MoveTable> = {}): MoveTable => rangeTable(name, 1000, 0, { bytesCopied: 0, ...extra });
const rangeMoveOf = (tables: MoveTable[]): Move => rangeMove('copying', tables, { id: 'mv_1' });

describe('nextRate', () => {
  it('one reading measures nothing; the second gives the rate between them', () => {
    expect(feed(at(0, 500))).toEqual({ last: at(0, 500), rowsPerSecond: null, bytesPerSecond: null });
    const rate = feed(at(0, 500), at(500, 1500));
    expect(rate.rowsPerSecond).toBe(2000);
    expect(rate.bytesPerSecond).toBe(200_000);
  });

  it('later readings are averaged, each weighted by the time it covers', () => {
    // 2000 rows/s, then 0.5 s at 4000 rows/s: the average moves by 1 - e^(-0.5/5) of the gap.
    const rate = feed(at(0, 0), at(500, 1000), at(1000, 3000));
    const weight = 1 - Math.exp(-500 / SMOOTHING_MS);
    expect(rate.rowsPerSecond).toBeCloseTo(2000 + weight * 2000, 9);
    // A poll that saw no new progress (the executor records it every 0.5 s) pulls it down only a little.
    const steady = feed(at(0, 0), at(500, 1000), at(1000, 1000), at(1500, 3000));
    expect(steady.rowsPerSecond).toBeGreaterThan(1500);
    expect(steady.rowsPerSecond).toBeLessThan(2500);
  });

  it('no progress yet: no rate, however many polls (a table waiting for its turn)', () => {
    const rate = feed(at(0, 0), at(500, 0), at(1000, 0));
    expect(rate).toEqual({ last: at(1000, 0), rowsPerSecond: null, bytesPerSecond: null });
    // Once it starts, the first delta is the rate: no average dragged down by the wait.
    expect(nextRate(rate, at(1500, 1000)).rowsPerSecond).toBe(2000);
  });

  it('a table copied again from the start (rowsCopied went down) forgets its rate and never goes negative', () => {
    const before = feed(at(0, 0), at(1000, 5000));
    const restarted = nextRate(before, at(2000, 300));
    expect(restarted).toEqual({ last: at(2000, 300), rowsPerSecond: null, bytesPerSecond: null });
    expect(nextRate(restarted, at(3000, 1300)).rowsPerSecond).toBe(1000);
    // Bytes going down alone is a restart too.
    expect(nextRate(before, { atMs: 2000, rows: 5000, bytes: 10 }).bytesPerSecond).toBeNull();
  });

  it('two readings at the same instant, or a clock stepping back, change nothing', () => {
    const rate = feed(at(0, 0), at(1000, 1000));
    expect(nextRate(rate, at(1000, 2000))).toBe(rate);
    expect(nextRate(rate, at(900, 2000))).toBe(rate);
  });
});

describe('secondsLeft', () => {
  it('remaining rows over the rate', () => {
    expect(secondsLeft(9000, 3000)).toBe(3);
  });

  it('nothing left is 0, whatever the rate', () => {
    expect(secondsLeft(0, null)).toBe(0);
    expect(secondsLeft(-5, 0)).toBe(0);
  });

  it('no rate, a zero rate or a stalled one: unknown, never Infinity or NaN', () => {
    expect(secondsLeft(100, null)).toBeNull();
    expect(secondsLeft(100, 0)).toBeNull();
    expect(secondsLeft(100, Number.NaN)).toBeNull();
    expect(secondsLeft(100, Number.POSITIVE_INFINITY)).toBeNull();
    expect(secondsLeft(100, MIN_ROWS_PER_SECOND / 2)).toBeNull();
    expect(secondsLeft(100, MIN_ROWS_PER_SECOND)).toBe(100);
  });
});

describe('a range move: per table and overall', () => {
  it('a table done has nothing left and no rate to show, even short of its estimate', () => {
    const done = table('users', { rowsCopied: 990, copiedAt: '2026-01-01T00:00:05.000Z' });
    expect(remainingRows(done)).toBe(0);
    expect(tableEta(done, feed(at(0, 0), at(1000, 990)))).toBeNull();
  });

  it('a table past its estimate (rows written since it was counted) has none left', () => {
    expect(remainingRows(table('users', { rowsCopied: 1010 }))).toBe(0);
  });

  it('an org move (no estimate) has no time left, nor an overall one', () => {
    const t = table('users', { estimatedRows: null, rowsCopied: 10 });
    expect(remainingRows(t)).toBeNull();
    expect(tableEta(t, feed(at(0, 0), at(1000, 10)))).toBeNull();
    expect(overallEta(rangeMoveOf([t]), undefined)).toBeNull();
  });

  it('tracks each table and the move across polls; the time left counts only what is still to copy', () => {
    const poll1 = rangeMoveOf([
      table('organizations', { rowsCopied: 1000, bytesCopied: 100_000, copiedAt: '2026-01-01T00:00:01.000Z' }),
      table('users', { estimatedRows: 10_000, rowsCopied: 2000, bytesCopied: 200_000 }),
      table('guests', { estimatedRows: 5000 }),
    ]);
    const poll2 = rangeMoveOf([
      table('organizations', { rowsCopied: 1000, bytesCopied: 100_000, copiedAt: '2026-01-01T00:00:01.000Z' }),
      table('users', { estimatedRows: 10_000, rowsCopied: 4000, bytesCopied: 400_000 }),
      table('guests', { estimatedRows: 5000 }),
    ]);
    let rates = trackRates(new Map(), [poll1], 0);
    rates = trackRates(rates, [poll2], 1000);
    const r = rates.get('mv_1');
    const [organizations, users, guests] = poll2.tables ?? [];
    expect(tableEta(organizations as MoveTable, r?.tables.get('organizations'))).toBeNull();
    expect(tableEta(users as MoveTable, r?.tables.get('users'))).toEqual({ rowsPerSecond: 2000, bytesPerSecond: 200_000, secondsLeft: 3 });
    // Not started: no rate, no time left.
    expect(tableEta(guests as MoveTable, r?.tables.get('guests'))).toEqual({
      rowsPerSecond: null,
      bytesPerSecond: null,
      secondsLeft: null,
    });
    // Overall: 6000 users + 5000 guests still to copy at 2000 rows/s.
    expect(overallEta(poll2, r)).toEqual({ rowsPerSecond: 2000, bytesPerSecond: 200_000, secondsLeft: 5.5 });
  });

  it('every table done: no overall time left to show', () => {
    const done = rangeMoveOf([table('users', { rowsCopied: 1000, copiedAt: '2026-01-01T00:00:01.000Z' })]);
    expect(overallEta(done, trackRates(new Map(), [done], 0).get('mv_1'))).toBeNull();
  });

  it('a move no longer answered is forgotten; one answered without its tables keeps their rates', () => {
    const m = rangeMoveOf([table('users', { rowsCopied: 100 })]);
    const rates = trackRates(new Map(), [m], 0);
    expect(trackRates(rates, [], 1000).size).toBe(0);
    const { tables: _tables, ...listed } = m;
    expect(trackRates(rates, [listed], 1000).get('mv_1')?.tables.get('users')).toEqual(rates.get('mv_1')?.tables.get('users'));
  });
});

describe('how a rate reads', () => {
  it('rows/s, MB/s and the time left, leaving out what is unknown', () => {
    expect(formatEta({ rowsPerSecond: 12_345.4, bytesPerSecond: 4_210_000, secondsLeft: 190 })).toBe(
      '12,345 rows/s  4.2 MB/s  3 min 10 s left',
    );
    expect(formatEta({ rowsPerSecond: 10, bytesPerSecond: 1000, secondsLeft: null })).toBe('10 rows/s  0.0 MB/s');
    expect(formatEta({ rowsPerSecond: null, bytesPerSecond: null, secondsLeft: null })).toBe('');
    expect(formatEta({ rowsPerSecond: 10, bytesPerSecond: 1000, secondsLeft: 0 })).toBe('10 rows/s  0.0 MB/s');
  });

  it('durations round up, so rows left never read as 0 s', () => {
    expect([0.2, 1, 59.1, 60, 61, 3599, 3600, 7620, 100_000].map(formatDuration)).toEqual([
      '1 s',
      '1 s',
      '1 min 00 s',
      '1 min 00 s',
      '1 min 01 s',
      '59 min 59 s',
      '1 h 00 min',
      '2 h 07 min',
      '27 h 47 min',
    ]);
  });
});
