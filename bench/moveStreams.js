// @ts-check
// A range move's bulk copy with 1, 2 and 4 parallel COPY streams against one
// `psql COPY ... TO STDOUT (FORMAT binary) | psql COPY ... FROM STDIN` pipe of the same
// rows: BENCH_STREAMS_ORGS orgs of a span with BENCH_STREAMS_ROWS `expenses` rows each,
// copied into the same table (same indexes) on one throwaway Postgres, no writers, each
// followed by the same ANALYZE; the order rotated every round. Median over the rounds.
// It says how many streams this machine's cores can use: the lab's range figures
// (bench:move) run everything else on the same cores too. Build first: tsc -b.
// Env: BENCH_STREAMS_ORGS (10000), BENCH_STREAMS_ROWS (100), BENCH_STREAMS_ROUNDS (3).
import { performance } from 'node:perf_hooks';
import { createTenantMover } from '../control-plane/dist/features/moves/tenant/PgTenantMover.js';
import { createLogger } from '../control-plane/dist/logger.js';
import { createTestDatabase, startTestPostgres } from '../embedded/dist/index.js';
import { envInt, median, note, printFigure } from './lib.js';
import { query } from './moveApi.js';
import { havePsql, psqlPipe } from './moveLib.js';

const ORGS = envInt('BENCH_STREAMS_ORGS', 10_000);
const PER_ORG = envInt('BENCH_STREAMS_ROWS', 100);
const ROUNDS = envInt('BENCH_STREAMS_ROUNDS', 3);
const LO = 100_000;
const HI = LO + ORGS - 1;
const STREAMS = [1, 2, 4];

/** One statement on a database. @param {string} url @param {string} sql */
const run = async (url, sql) => {
  await query(url, sql);
};

if (!(await havePsql())) throw new Error('no psql on PATH: install postgresql-client (the embedded binaries have none)');
const pgServer = await startTestPostgres();
try {
  const sourceUrl = await createTestDatabase(pgServer.adminUrl, 'tenant');
  const targetUrl = await createTestDatabase(pgServer.adminUrl, 'tenant');
  note('move-streams', `seeding ${ORGS} orgs with ${PER_ORG} expenses each`);
  await run(sourceUrl, `INSERT INTO organizations (org_id, name) SELECT g, 'org ' || g FROM generate_series(${LO}, ${HI}) g`);
  await run(sourceUrl, `INSERT INTO properties (org_id, property_id, name) SELECT g, 1, 'hotel' FROM generate_series(${LO}, ${HI}) g`);
  await run(
    sourceUrl,
    `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
     SELECT o, e, 1, e * 7, 'category ' || (e % 10), date '2026-01-01' + (e % 300)
       FROM generate_series(${LO}, ${HI}) o, generate_series(1, ${PER_ORG}) e`,
  );
  await run(sourceUrl, 'VACUUM ANALYZE');
  const scope = /** @type {const} */ ({ kind: 'range', lo: LO, hi: HI, pinned: [], pinnedToSource: [], pinnedToTarget: [] });
  const movers = new Map(
    STREAMS.map((streams) => [
      streams,
      createTenantMover({
        moveId: `mv_streams_${streams}`,
        scope,
        sourceUrl,
        targetUrl,
        fenceDeadlineMs: 1000,
        copyStreams: streams,
        log: createLogger({ logLevel: 'warn' }),
      }),
    ]),
  );
  const first = /** @type {import('../control-plane/dist/features/moves/tenant/TenantMover.js').TenantMover} */ (movers.get(1));
  await first.startCapture();
  // The parents the copied rows reference, as a move copies them first.
  for (const t of ['organizations', 'properties']) await psqlPipe({ sourceUrl, targetUrl, table: t, range: { lo: LO, hi: HI } });
  const table = (await first.tables()).find((t) => t.name === 'expenses');
  if (!table) throw new Error('no expenses table');
  const total = ORGS * PER_ORG;

  /** @type {Record<string, () => Promise<void>>} */
  const contenders = {
    psqlBinary: () =>
      psqlPipe({ sourceUrl, targetUrl, table: 'expenses', range: { lo: LO, hi: HI }, format: 'binary' }).then(() =>
        run(targetUrl, 'ANALYZE expenses'),
      ),
  };
  for (const [streams, mover] of movers) {
    contenders[`streams${streams}`] = async () => {
      const copied = await mover.copyTable(table, () => {});
      if (copied.rows !== total) throw new Error(`${streams} streams copied ${copied.rows} rows, not ${total}`);
    };
  }
  const names = Object.keys(contenders);
  /** @type {Record<string, number[]>} rows/s per round */
  const rates = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = /** @type {string} */ (names[(round + k) % names.length]);
      await run(targetUrl, 'TRUNCATE expenses');
      await run(targetUrl, 'VACUUM expenses');
      const started = performance.now();
      await /** @type {() => Promise<void>} */ (contenders[name])();
      rates[name]?.push((total / (performance.now() - started)) * 1000);
    }
    note(
      'move-streams',
      `round ${round + 1}/${ROUNDS}: ${names.map((n) => `${n} ${Math.round(rates[n]?.at(-1) ?? 0)} rows/s`).join(', ')}`,
    );
  }
  await first.abort();
  for (const mover of movers.values()) await mover.close();
  const psql = Math.round(median(rates['psqlBinary'] ?? []));
  for (const streams of STREAMS) {
    printFigure({
      bench: 'move-streams',
      figure: `range_copy_rows_per_s_${streams}_streams`,
      value: Math.round(median(rates[`streams${streams}`] ?? [])),
      unit: '1/s',
      baseline: psql,
      extra: {
        baselineIs: 'one psql COPY (FORMAT binary) | psql COPY pipe of the same span, then ANALYZE',
        rows: total,
        rounds: ROUNDS,
        cores: (await import('node:os')).cpus().length,
      },
    });
  }
} finally {
  await pgServer.stop();
}
