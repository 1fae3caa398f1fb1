// `--follow` against a scripted control plane: when it stops, what it reads, how it
// survives a restarting control plane, and what the live view draws.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../src/apiClient.js';
import { CliError, ExitCode } from '../src/errors.js';
import { trackRates } from '../src/moves/copyRate.js';
import { DETAILED_MOVES_MAX, followMoves, PAGE } from '../src/moves/followMoves.js';
import { formatBytes, moveDetailLines, moveTitle, rangeMoveLines } from '../src/moves/format.js';
import { liveView, TASK_PER_MOVE_MAX } from '../src/moves/liveView.js';
import { nextStep, renderMove, renderMoves } from '../src/moves/render.js';
import type { Move, MoveState } from '../src/moves/types.js';
import { move, rangeMove, rangeTable } from './moveFixtures.js';

/** Answers GET /v1/moves/:id with the next state of each move's script (the last one repeats). */
function scripted(scripts: Record<string, Move[]>, calls: string[] = []): ApiClient {
  const at: Record<string, number> = {};
  const next = (id: string): Move => {
    const script = scripts[id] ?? [];
    const i = Math.min(at[id] ?? 0, script.length - 1);
    at[id] = i + 1;
    return script[i] as Move;
  };
  return {
    async get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
      calls.push(query ? `${path}?${JSON.stringify(query)}` : path);
      const id = decodeURIComponent(path.replace('/v1/moves/', ''));
      if (path === '/v1/moves') {
        const all = Object.keys(scripts).map((k) => next(k));
        const from = query?.before ? all.findIndex((m) => m.id === query.before) + 1 : 0;
        return { moves: all.slice(from, from + Number(query?.limit)) } as T;
      }
      return next(id) as T;
    },
    async send() {
      throw new Error('follow never changes anything');
    },
  };
}

const noSleep = async () => {};

describe('followMoves', () => {
  it('follows through waiting and stops once every move rests, in the order given', async () => {
    const updates: MoveState[][] = [];
    const api = scripted({
      mv_1: [
        move('mv_1', 'copying'),
        move('mv_1', 'waiting'),
        move('mv_1', 'cutting_over'),
        move('mv_1', 'flipped', { progress: { rowsCopied: 9, bytesCopied: 90, changesPending: 0, lastFenceMs: 30 } }),
      ],
      mv_2: [move('mv_2', 'failed', { error: 'target unreachable' })],
    });
    const done = await followMoves(api, {
      moves: [move('mv_1', 'pending'), move('mv_2', 'pending')],
      sleep: noSleep,
      onUpdate: (ms) => updates.push(ms.map((m) => m.state)),
    });
    expect(done.map((m) => m.state)).toEqual(['flipped', 'failed']);
    expect(updates.map((u) => u[0])).toEqual(['pending', 'copying', 'waiting', 'cutting_over', 'flipped']);
    expect(done[1]?.error).toBe('target unreachable');
  });

  it('reports the fence window a flip commits with, and asks no more once the move rests', async () => {
    // As the executor answers (MoveExecutor.commitFlip): the flip carries the window measured
    // when it commits; the exact one from the tenant side replaces it a moment later.
    const progress = (lastFenceMs: number) => ({ progress: { rowsCopied: 1, bytesCopied: 1, changesPending: 0, lastFenceMs } });
    const calls: string[] = [];
    const api = scripted(
      { mv_1: [move('mv_1', 'cutting_over'), move('mv_1', 'flipped', progress(12.6)), move('mv_1', 'flipped', progress(12))] },
      calls,
    );
    const done = await followMoves(api, { moves: [move('mv_1', 'copying')], sleep: noSleep });
    expect(done[0]).toMatchObject({ state: 'flipped', progress: { lastFenceMs: 12.6 } });
    expect(calls).toEqual(['/v1/moves/mv_1', '/v1/moves/mv_1']);
  });

  it('asks nothing when every move already rests', async () => {
    const calls: string[] = [];
    const done = await followMoves(scripted({}, calls), { moves: [move('mv_1', 'rolled_back')], sleep: noSleep });
    expect(done[0]?.state).toBe('rolled_back');
    expect(calls).toEqual([]);
  });

  it('lists a large batch page by page and reads the tables only of the moves being worked on', async () => {
    const n = PAGE + 50;
    const scripts: Record<string, Move[]> = {};
    for (let i = 0; i < n; i++) {
      const id = `mv_${String(10_000 + i)}`;
      scripts[id] = i < 3 ? [move(id, 'copying'), move(id, 'flipped')] : [move(id, 'flipped')];
    }
    const calls: string[] = [];
    const first = Object.keys(scripts).map((id) => move(id, 'pending'));
    const done = await followMoves(scripted(scripts, calls), { moves: first, batchId: 'mb_1', sleep: noSleep });
    expect(done.every((m) => m.state === 'flipped')).toBe(true);
    expect(n).toBeGreaterThan(DETAILED_MOVES_MAX);
    const lists = calls.filter((c) => c.startsWith('/v1/moves?'));
    expect(lists[0]).toContain('"batchId":"mb_1"');
    expect(lists.some((c) => c.includes('"before":'))).toBe(true); // a second page
    const details = calls.filter((c) => c.startsWith('/v1/moves/'));
    expect(details).toHaveLength(3); // only the three copying in the first round
  });

  it('keeps asking while the control plane restarts, and gives up after a minute', async () => {
    let t = 0;
    let down = 3;
    const unreachable = () => new CliError('CONTROL_PLANE_UNREACHABLE', 'down', undefined, ExitCode.unreachable);
    const flaky: ApiClient = {
      async get<T>() {
        if (down-- > 0) throw unreachable();
        return move('mv_1', 'flipped') as T;
      },
      send: async () => undefined as never,
    };
    const done = await followMoves(flaky, { moves: [move('mv_1', 'copying')], sleep: noSleep, now: () => (t += 1000) });
    expect(done[0]?.state).toBe('flipped');

    const dead: ApiClient = {
      get: async () => {
        throw unreachable();
      },
      send: async () => undefined as never,
    };
    await expect(followMoves(dead, { moves: [move('mv_1', 'copying')], sleep: noSleep, now: () => (t += 5000) })).rejects.toMatchObject({
      code: 'CONTROL_PLANE_UNREACHABLE',
    });
  });

  it('an error answer ends following with that error', async () => {
    const api: ApiClient = {
      get: async () => {
        throw new CliError('MOVE_NOT_FOUND', 'gone', undefined, ExitCode.notFound);
      },
      send: async () => undefined as never,
    };
    await expect(followMoves(api, { moves: [move('mv_1', 'copying')], sleep: noSleep })).rejects.toMatchObject({ code: 'MOVE_NOT_FOUND' });
  });

  it('Ctrl-C (an aborted signal) stops following with FOLLOW_STOPPED', async () => {
    const stop = new AbortController();
    stop.abort();
    const api = scripted({ mv_1: [move('mv_1', 'copying')] });
    await expect(followMoves(api, { moves: [move('mv_1', 'copying')], signal: stop.signal, intervalMs: 10 })).rejects.toMatchObject({
      code: 'FOLLOW_STOPPED',
    });
  });
});

describe('how a move reads', () => {
  const copying = move('mv_42', 'catching_up', {
    attempt: 2,
    progress: { rowsCopied: 1_234_567, bytesCopied: 98_765_432, changesPending: 17, lastFenceMs: 86.6 },
    tables: [
      {
        table: 'users',
        estimatedRows: null,
        rowsCopied: 10,
        bytesCopied: 900,
        sourceRows: 10,
        targetRows: 10,
        sourceChecksum: 'a',
        targetChecksum: 'a',
        copiedAt: null,
      },
      {
        table: 'guests',
        estimatedRows: null,
        rowsCopied: 20,
        bytesCopied: 2048,
        sourceRows: 21,
        targetRows: 20,
        sourceChecksum: 'b',
        targetChecksum: 'c',
        copiedAt: null,
      },
      {
        table: 'revenues',
        estimatedRows: null,
        rowsCopied: 5,
        bytesCopied: 0,
        sourceRows: null,
        targetRows: null,
        sourceChecksum: null,
        targetChecksum: null,
        copiedAt: null,
      },
    ],
  });

  it('the title has phase, attempt, rows, bytes, lag and the fence window', () => {
    expect(moveTitle(copying)).toBe(
      'org 42  primary-1 -> primary-2  catching up  attempt 2  1,234,567 rows  98.8 MB  lag 17 changes  fence 87 ms',
    );
  });

  it('a line per table with its verification, and why a move waits', () => {
    const lines = moveDetailLines(copying);
    expect(lines[0]).toMatch(/^users\s+10 rows\s+900 B {2}verified$/);
    expect(lines[1]).toMatch(/^guests\s+20 rows\s+2\.0 kB {2}MISMATCH source 21 rows, target 20$/);
    expect(lines[2]).toMatch(/^revenues\s+5 rows\s+0 B$/);
    const waiting = moveDetailLines(move('mv_1', 'waiting', { nextAttemptAt: '2026-01-01T00:01:00.000Z' }));
    expect(waiting).toEqual(['the cutover missed its 1000 ms deadline; next attempt at 2026-01-01T00:01:00.000Z']);
  });

  it('bytes in decimal units', () => {
    expect([0, 999, 1000, 1_500_000, 2e9].map(formatBytes)).toEqual(['0 B', '999 B', '1.0 kB', '1.5 MB', '2.0 GB']);
  });
});

const done = { copiedAt: '2026-01-01T00:00:01.000Z' };
/** Two polls a second apart: users went from 2,000 to 4,100 rows, guests has not started. */
const poll1 = rangeMove('copying', [
  rangeTable('organizations', 1000, 1000, done),
  rangeTable('users', 10_000, 2000),
  rangeTable('guests', 5000, 0),
]);
const poll2 = rangeMove('copying', [
  rangeTable('organizations', 1000, 1000, done),
  rangeTable('users', 10_000, 4100),
  rangeTable('guests', 5000, 0),
]);

describe('how a range move reads', () => {
  it('its span goes where the org id would, with the rows of the estimate', () => {
    expect(moveTitle(poll2)).toBe('range 1-5000  primary-1 -> primary-4  copying  5,100 of 16,000 rows (31.9%)  510.0 kB');
    const lines = moveDetailLines(poll2);
    expect(lines[0]).toMatch(/^organizations\s+1,000 of 1,000 rows \(100\.0%\)\s+100\.0 kB {2}copied$/);
    expect(lines[1]).toMatch(/^users\s+4,100 of 10,000 rows \(41\.0%\)\s+410\.0 kB$/);
    expect(lines[2]).toMatch(/^guests\s+0 of 5,000 rows \(0\.0%\)\s+0 B$/);
  });

  it('--follow adds the rate between polls and the time left, per table and overall', () => {
    const rates = trackRates(trackRates(new Map(), [poll1], 10_000), [poll2], 11_000).get('mv_77');
    // 5,900 users and 5,000 guests left at 2,100 rows/s.
    expect(moveTitle(poll2, rates)).toBe(
      'range 1-5000  primary-1 -> primary-4  copying  5,100 of 16,000 rows (31.9%)  510.0 kB  2,100 rows/s  0.2 MB/s  6 s left',
    );
    const lines = moveDetailLines(poll2, rates);
    expect(lines[0]).toMatch(/ {2}copied$/);
    expect(lines[1]).toMatch(/^users\s+4,100 of 10,000 rows \(41\.0%\)\s+410\.0 kB {2}2,100 rows\/s {2}0\.2 MB\/s {2}3 s left$/);
    expect(lines[2]).toMatch(/^guests\s+0 of 5,000 rows \(0\.0%\)\s+0 B$/); // not started: no rate, no time left
    // Past the copy, rates say nothing: catching up shows its lag instead.
    const catchingUp = { ...poll2, state: 'catching_up' as const };
    expect(moveTitle(catchingUp, rates)).toBe(
      'range 1-5000  primary-1 -> primary-4  catching up  5,100 of 16,000 rows (31.9%)  510.0 kB  lag 0 changes',
    );
    expect(moveDetailLines(catchingUp, rates)[1]).not.toContain('rows/s');
  });

  it('the first poll, before anything is measured, shows no rate and no time left', () => {
    const rates = trackRates(new Map(), [poll1], 0).get('mv_77');
    expect(moveTitle(poll1, rates)).toBe('range 1-5000  primary-1 -> primary-4  copying  3,000 of 16,000 rows (18.8%)  300.0 kB');
    expect(moveDetailLines(poll1, rates).join('\n')).not.toMatch(/rows\/s|left|NaN|Infinity/);
  });

  it('verified tables say so in place of copied; a mismatch names the counts', () => {
    const verified = rangeMove('flipped', [
      rangeTable('users', 10_000, 10_002, { ...done, sourceRows: 10_002, targetRows: 10_002, sourceChecksum: 'a', targetChecksum: 'a' }),
      rangeTable('guests', 5000, 5000, { ...done, sourceRows: 5000, targetRows: 4999, sourceChecksum: 'b', targetChecksum: 'c' }),
    ]);
    const lines = moveDetailLines(verified);
    expect(lines[0]).toMatch(/^users\s+10,002 of 10,000 rows \(100\.0%\)\s+1\.0 MB {2}verified$/);
    expect(lines[1]).toMatch(/MISMATCH source 5,000 rows, target 4,999$/);
  });

  it('moves show: the span, its pinned orgs, the copy streams and where they read', () => {
    expect(rangeMoveLines(poll2)).toEqual([
      'span 1-5000: every org but 3 pinned (left alone where their pins put them)',
      "copy: 4 parallel COPY streams, reading from a healthy replica of primary-1 that has replayed past the capture's start (else its primary)",
    ]);
    expect(rangeMoveLines({ ...poll2, pinnedOrgs: 0, copyStreams: 1, readFrom: 'primary' })).toEqual([
      'span 1-5000: every org of it moves (none is pinned)',
      "copy: 1 parallel COPY stream, reading from primary-1's primary",
    ]);
    expect(rangeMoveLines(move('mv_1', 'copying'))).toEqual([]);
    const shown: string[] = [];
    renderMove(poll2, (l) => shown.push(l));
    expect(shown.slice(0, 4)).toEqual([
      'mv_77 (batch mb_1)',
      'range 1-5000  primary-1 -> primary-4  copying  5,100 of 16,000 rows (31.9%)  510.0 kB',
      'span 1-5000: every org but 3 pinned (left alone where their pins put them)',
      expect.stringContaining('copy: 4 parallel COPY streams'),
    ]);
    expect(shown[4]).toMatch(/^ {2}organizations\s+1,000 of 1,000 rows/);
    expect(nextStep({ ...poll2, state: 'flipped' })).toContain('`orgplane moves rollback mv_77` routes the range back');
    expect(nextStep(move('mv_1', 'flipped'))).toContain('routes the org back');
  });

  it('moves list: the range where the org id would go', () => {
    const out: string[] = [];
    renderMoves([poll2, move('mv_42', 'flipped')], (l) => out.push(l));
    expect(out[0]?.split('\n')[1]).toMatch(/^mv_77\s+range 1-5000\s+primary-1\s+primary-4\s+copying/);
    expect(out[0]?.split('\n')[2]).toMatch(/^mv_42\s+42\s+primary-1\s+primary-2\s+flipped/);
  });
});

describe('the live view', () => {
  afterEach(() => vi.restoreAllMocks());

  it('draws each move until it rests, then ends (one line per event without a sized terminal)', async () => {
    let drawn = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      drawn += String(chunk);
      return true;
    });
    const view = liveView([move('mv_7', 'pending'), move('mv_8', 'pending')]);
    view.update([
      move('mv_7', 'copying', { progress: { rowsCopied: 500, bytesCopied: 4000, changesPending: 0 } }),
      move('mv_8', 'pending'),
    ]);
    await new Promise((r) => setTimeout(r, 50));
    view.update([
      move('mv_7', 'flipped', { progress: { rowsCopied: 900, bytesCopied: 8000, changesPending: 0, lastFenceMs: 42 } }),
      move('mv_8', 'failed', { error: 'boom' }),
    ]);
    await view.close();
    vi.restoreAllMocks();
    expect(drawn).toContain('org 7  primary-1 -> primary-2  flipped  900 rows  8.0 kB  fence 42 ms');
    expect(drawn).toContain('boom');
  });

  it('a batch too big for a task per move is one task: counts by state, then the moves being worked on', async () => {
    let drawn = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      drawn += String(chunk);
      return true;
    });
    const ids = Array.from({ length: TASK_PER_MOVE_MAX + 5 }, (_, i) => `mv_${100 + i}`);
    const view = liveView(ids.map((id) => move(id, 'pending')));
    view.update(ids.map((id, i) => move(id, i === 0 ? 'copying' : i < 4 ? 'flipped' : 'pending')));
    await new Promise((r) => setTimeout(r, 50));
    view.update(ids.map((id) => move(id, 'flipped')));
    await view.close();
    vi.restoreAllMocks();
    expect(drawn).toContain('15 moves: 15 pending');
    expect(drawn).toContain('org 100  primary-1 -> primary-2  copying');
    expect(drawn).toContain('15 moves: 15 flipped');
    expect(drawn).not.toContain('org 101 '); // resting moves are counted, not listed
  });

  it('a range move draws its rate and time left, measured between updates', async () => {
    let drawn = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      drawn += String(chunk);
      return true;
    });
    let t = 10_000;
    const view = liveView([poll1], { now: () => t });
    t += 1000;
    view.update([poll2]);
    await new Promise((r) => setTimeout(r, 50));
    view.update([rangeMove('flipped', poll2.tables ?? [], { progress: { ...poll2.progress, lastFenceMs: 31 } })]);
    await view.close();
    vi.restoreAllMocks();
    // Without a sized terminal the title is drawn as it starts and ends; the lines under it as they change.
    expect(drawn).toContain('range 1-5000  primary-1 -> primary-4  copying  3,000 of 16,000 rows (18.8%)  300.0 kB');
    expect(drawn).toMatch(/users\s+4,100 of 10,000 rows \(41\.0%\)\s+410\.0 kB {2}2,100 rows\/s {2}0\.2 MB\/s {2}3 s left/);
    expect(drawn).toContain('range 1-5000  primary-1 -> primary-4  flipped  5,100 of 16,000 rows (31.9%)  510.0 kB  fence 31 ms');
  });

  it('a view whose follow was stopped still ends, showing the move skipped where it was', async () => {
    let drawn = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      drawn += String(chunk);
      return true;
    });
    const view = liveView([move('mv_9', 'copying', { progress: { rowsCopied: 300, bytesCopied: 3000, changesPending: 0 } })]);
    await view.close();
    vi.restoreAllMocks();
    expect(drawn).toContain('org 9  primary-1 -> primary-2  copying  300 rows');
    expect(drawn).toContain('stopped following');
  });
});
