// The write-block window of a move: cutovers (and rollbacks) of one org while writers
// update it at a steady rate (default 400 writes/s), on one throwaway Postgres with two
// tenant databases. Figures: the fence window per cutover (p50/p99/max, ms), and the
// writers' p99 latency during the moves against their p99 before any move, same run.
// The window must not grow with the org: run it with BENCH_MOVE_ROWS=10000 and 1000000.
// Build first: tsc -b. Env: BENCH_MOVE_ROWS (default 100000), BENCH_MOVE_ROUNDS (5),
// BENCH_MOVE_WRITES_PER_S (400), BENCH_MOVE_DEADLINE_MS (1000).

import { createTenantMover } from '../control-plane/dist/features/moves/tenant/PgTenantMover.js';
import { createLogger } from '../control-plane/dist/logger.js';
import { createTestDatabase, startTestPostgres } from '../embedded/dist/index.js';
import { printFigure } from './lib.js';
import { percentile, seedBigOrg, startWriters, vacuum } from './moveLib.js';

const ROWS = Number(process.env.BENCH_MOVE_ROWS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_MOVE_ROUNDS ?? 5);
const RATE = Number(process.env.BENCH_MOVE_WRITES_PER_S ?? 400);
const DEADLINE_MS = Number(process.env.BENCH_MOVE_DEADLINE_MS ?? 1000);
const ORG = 4343;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const pgServer = await startTestPostgres();
try {
  const urls = [await createTestDatabase(pgServer.adminUrl, 'tenant'), await createTestDatabase(pgServer.adminUrl, 'tenant')];
  await seedBigOrg(urls[0], ORG, ROWS);
  let owner = 0;
  const log = createLogger({ logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn' });

  // Writers' latency with no move running, same rate, same run.
  const idle = startWriters({ ownerUrl: () => urls[owner], orgId: ORG, ratePerSec: RATE, idMax: ROWS });
  await sleep(3000);
  const before = await idle.stop();

  const writers = startWriters({ ownerUrl: () => urls[owner], orgId: ORG, ratePerSec: RATE, idMax: ROWS });
  const windows = [];
  const deadlines = [];
  for (let round = 0; round < ROUNDS; round++) {
    const from = owner;
    const mover = createTenantMover({
      moveId: `mv_bench_${round}`,
      orgId: ORG,
      sourceUrl: urls[from],
      targetUrl: urls[1 - from],
      fenceDeadlineMs: DEADLINE_MS,
      log,
    });
    await mover.startCapture();
    for (const table of await mover.tables()) await mover.copyTable(table, () => {});
    await mover.catchUp();
    const hooks = { fenced: async () => {}, flip: async () => void (owner = 1 - from), released: async () => {} };
    for (;;) {
      const result = await mover.cutover(hooks);
      if (result.outcome === 'flipped') {
        windows.push(result.fenceMs);
        break;
      }
      if (result.outcome === 'mismatch') throw new Error('verification failed');
      deadlines.push(result.fenceMs);
    }
    await sleep(500);
    await mover.complete();
    await mover.close();
    // As after a grace period: the deleted rows are vacuumed before the next move.
    await vacuum(urls[from]);
  }
  const during = await writers.stop();
  if (during.errors.length > 0) throw new Error(`writers failed: ${during.errors.slice(0, 3).join('; ')}`);
  const emit = (figure, value, baseline = null) =>
    printFigure({ bench: 'move', figure, value: Math.round(value * 10) / 10, unit: 'ms', baseline });
  emit(`fence_window_p50_rows_${ROWS}`, percentile(windows, 50));
  emit(`fence_window_p99_rows_${ROWS}`, percentile(windows, 99));
  emit('write_latency_p99_during_moves', percentile(during.latenciesMs, 99), Math.round(percentile(before.latenciesMs, 99) * 10) / 10);
  process.stderr.write(`cutovers ${windows.length}, missed deadlines ${deadlines.length}, writes ${during.acked}\n`);
} finally {
  await pgServer.stop();
}
