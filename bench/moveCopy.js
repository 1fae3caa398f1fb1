// Copy throughput of one org's 1,000,000-row table: the tenant mover's binary COPY
// pipe (copyTable) against `psql COPY ... TO STDOUT | psql COPY ... FROM STDIN` of the
// same rows, in the same run, on one throwaway Postgres. Build first: tsc -b.
// Env: BENCH_MOVE_ROWS (default 1000000), BENCH_MOVE_ROUNDS (default 3).

import { createTenantMover } from '../control-plane/dist/features/moves/tenant/PgTenantMover.js';
import { createLogger } from '../control-plane/dist/logger.js';
import { createTestDatabase, startTestPostgres } from '../embedded/dist/index.js';
import { median, printFigure } from './lib.js';
import { havePsql, moverCopy, psqlPipe, seedBigOrg, truncate } from './moveLib.js';

const ROWS = Number(process.env.BENCH_MOVE_ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_MOVE_ROUNDS ?? 3);
const ORG = 4242;
const TABLE = 'expenses';

const pgServer = await startTestPostgres();
try {
  const sourceUrl = await createTestDatabase(pgServer.adminUrl, 'tenant');
  const targetUrl = await createTestDatabase(pgServer.adminUrl, 'tenant');
  await seedBigOrg(sourceUrl, ORG, ROWS);
  const mover = createTenantMover({
    moveId: 'mv_bench',
    orgId: ORG,
    sourceUrl,
    targetUrl,
    fenceDeadlineMs: 1000,
    log: createLogger({ logLevel: 'warn' }),
  });
  await mover.startCapture();
  const psql = await havePsql();
  const moverRates = [];
  const psqlRates = [];
  const psqlBinaryRates = [];
  for (let round = 0; round < ROUNDS; round++) {
    await truncate(targetUrl, TABLE);
    const m = await moverCopy(mover, TABLE);
    if (m.rows !== ROWS) throw new Error(`the mover copied ${m.rows} rows, not ${ROWS}`);
    moverRates.push((m.rows / m.ms) * 1000);
    if (psql) {
      await truncate(targetUrl, TABLE);
      psqlRates.push((ROWS / (await psqlPipe({ sourceUrl, targetUrl, table: TABLE, orgId: ORG }))) * 1000);
      await truncate(targetUrl, TABLE);
      psqlBinaryRates.push((ROWS / (await psqlPipe({ sourceUrl, targetUrl, table: TABLE, orgId: ORG, format: 'binary' }))) * 1000);
    }
  }
  await mover.abort();
  await mover.close();
  const baseline = psql ? Math.round(median(psqlRates)) : null;
  printFigure({ bench: 'move', figure: 'copy_rows_per_s', value: Math.round(median(moverRates)), unit: '1/s', baseline });
  if (psql) {
    printFigure({
      bench: 'move',
      figure: 'copy_rows_per_s_vs_psql_binary',
      value: Math.round(median(moverRates)),
      unit: '1/s',
      baseline: Math.round(median(psqlBinaryRates)),
    });
  }
} finally {
  await pgServer.stop();
}
