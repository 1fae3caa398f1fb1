// @ts-check
// The write-block of a move as writers feel it: full moves (capture, copy, catch-up,
// cutover, complete) of one org back and forth between two tenant databases of one
// throwaway Postgres, while an open-loop writer sends it 400 writes a second (one in four
// a two-UPDATE transaction), for two org sizes (the block must not grow with the org).
//
// Per cutover (every attempt, including ones that missed the fence deadline): the longest
// any write to the org waited, from when it was due to its acknowledgement (lock wait and
// retries included). Beside it, the mover's own fence window of the attempt that flipped
// (from the fence lock being granted to its release). Failed and dropped writes are
// counted. With fewer than 100 cutovers a "p99" would be the maximum: the figure says
// `max_of_N` instead. Baseline, same run: the writers' p99 latency with no move running.
// Build first: tsc -b. Env: BENCH_MOVE_ROWS (comma list, default 10000,100000),
// BENCH_MOVE_CUTOVERS (20 per size; 100 or more gives a real p99), BENCH_MOVE_WRITES_PER_S
// (400), BENCH_MOVE_DEADLINE_MS (1000).
import { performance } from 'node:perf_hooks';
import { createTenantMover } from '../control-plane/dist/features/moves/tenant/PgTenantMover.js';
import { createLogger } from '../control-plane/dist/logger.js';
import { createTestDatabase, startTestPostgres } from '../embedded/dist/index.js';
import { envInt, median, note, percentile, percentileLabel, printFigure, summary } from './lib.js';
import { latencySummary, seedBigOrg, startOpenLoopWriter, vacuum, writeBlock } from './moveLib.js';

const SIZES = (process.env.BENCH_MOVE_ROWS ?? '10000,100000').split(',').map((x) => {
  const n = Number(x);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_MOVE_ROWS must be a comma list of positive integers, not ${x}`);
  return n;
});
const CUTOVERS = envInt('BENCH_MOVE_CUTOVERS', 20);
const RATE = envInt('BENCH_MOVE_WRITES_PER_S', 400);
const DEADLINE_MS = envInt('BENCH_MOVE_DEADLINE_MS', 1000);
const IDLE_MS = 3000;
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const r1 = (/** @type {number} */ x) => Number(x.toFixed(1));

/**
 * @typedef {{ startAt: number, endAt: number, fenceMs: number, missed: number[] }} Cutover
 */

/**
 * N full moves of one org of `rows` rows under the writer; returns what was measured.
 * @param {string[]} urls
 * @param {number} orgId
 * @param {number} rows
 * @param {import('../control-plane/dist/logger.js').Logger} log
 */
async function measureSize(urls, orgId, rows, log) {
  await seedBigOrg(/** @type {string} */ (urls[0]), orgId, rows);
  let owner = 0;
  const ownerUrl = () => /** @type {string} */ (urls[owner]);

  const idle = await startOpenLoopWriter({ ownerUrl, orgId, ratePerSec: RATE, idMax: rows });
  await sleep(IDLE_MS);
  const before = latencySummary((await idle.stop()).records);

  const writer = startOpenLoopWriter({ ownerUrl, orgId, ratePerSec: RATE, idMax: rows });
  /** @type {Cutover[]} */
  const cutovers = [];
  for (let round = 0; round < CUTOVERS; round++) {
    const from = owner;
    const mover = createTenantMover({
      moveId: `mv_bench_${orgId}_${round}`,
      scope: { kind: 'org', orgId },
      sourceUrl: ownerUrl(),
      targetUrl: /** @type {string} */ (urls[1 - from]),
      fenceDeadlineMs: DEADLINE_MS,
      log,
    });
    await mover.startCapture();
    for (const table of await mover.tables()) await mover.copyTable(table, () => {});
    await mover.catchUp();
    const hooks = {
      fenced: async () => {},
      flip: async () => {
        owner = 1 - from;
      },
      released: async () => {},
    };
    /** @type {number[]} */
    const missed = [];
    const startAt = performance.now();
    let fenceMs = Number.NaN;
    for (;;) {
      const result = await mover.cutover(hooks);
      if (result.outcome === 'flipped') {
        fenceMs = result.fenceMs;
        break;
      }
      if (result.outcome === 'mismatch') throw new Error('verification failed');
      missed.push(result.fenceMs);
    }
    cutovers.push({ startAt, endAt: performance.now(), fenceMs, missed });
    await sleep(300);
    await mover.complete();
    await mover.close();
    // As after a grace period: the deleted rows are vacuumed before the next move.
    await vacuum(/** @type {string} */ (urls[from]));
  }
  const stopped = await writer.stop();
  const blocks = cutovers.map((c) => writeBlock(stopped.records, c.startAt, c.endAt));
  return { before, during: latencySummary(stopped.records), due: stopped.due, dropped: stopped.dropped, cutovers, blocks };
}

const pgServer = await startTestPostgres();
try {
  const urls = [await createTestDatabase(pgServer.adminUrl, 'tenant'), await createTestDatabase(pgServer.adminUrl, 'tenant')];
  const log = createLogger({ logLevel: /** @type {any} */ (process.env.BENCH_LOG_LEVEL ?? 'warn') });
  /** @type {Map<number, number>} */
  const medianBlockBySize = new Map();
  for (const [k, rows] of SIZES.entries()) {
    note('move', `${CUTOVERS} cutovers of a ${rows}-row org under ${RATE} writes/s`);
    const m = await measureSize(urls, 4343 + k, rows, log);
    const waits = m.blocks.map((b) => b.maxWaitMs);
    const fences = m.cutovers.map((c) => c.fenceMs);
    const label = percentileLabel(99, waits.length);
    const counts = {
      cutovers: m.cutovers.length,
      deadlineMisses: m.cutovers.reduce((s, c) => s + c.missed.length, 0),
      writesDue: m.due,
      writesAcked: m.during.acked,
      writesFailed: m.during.failed,
      writesDropped: m.dropped,
      transactions: m.during.transactions,
    };
    medianBlockBySize.set(rows, median(waits));
    printFigure({
      bench: 'move',
      figure: `write_block_${label}_ms_rows_${rows}`,
      value: r1(percentile(waits, 99)),
      unit: 'ms',
      baseline: m.before.p99,
      extra: {
        what: 'per cutover, the longest any write to the moving org waited (ack or give-up minus due time), every attempt included',
        baselineIs: 'p99 write latency with no move running, same writer',
        p50: r1(percentile(waits, 50)),
        perCutover: summary(waits),
        ...counts,
        failedDuringCutovers: m.blocks.reduce((s, b) => s + b.failed, 0),
      },
    });
    printFigure({
      bench: 'move',
      figure: `fence_window_internal_${label}_ms_rows_${rows}`,
      value: r1(percentile(fences, 99)),
      unit: 'ms',
      extra: {
        what: "the mover's fence window of the attempt that flipped (lock granted to release)",
        p50: r1(percentile(fences, 50)),
        perCutover: summary(fences),
        missedAttemptsMs: m.cutovers.flatMap((c) => c.missed.map(r1)),
      },
    });
    printFigure({
      bench: 'move',
      figure: `write_latency_p99_ms_during_moves_rows_${rows}`,
      value: m.during.p99,
      unit: 'ms',
      baseline: m.before.p99,
      extra: { during: m.during, idle: m.before },
    });
  }
  if (SIZES.length > 1) {
    const small = Math.min(...SIZES);
    const large = Math.max(...SIZES);
    printFigure({
      bench: 'move',
      figure: `write_block_p50_ms_rows_${large}_vs_${small}`,
      value: r1(/** @type {number} */ (medianBlockBySize.get(large))),
      unit: 'ms',
      baseline: r1(/** @type {number} */ (medianBlockBySize.get(small))),
      extra: { what: 'the median write-block at the largest org size against the smallest: ~1 when it does not grow with the org' },
    });
  }
} finally {
  await pgServer.stop();
}
