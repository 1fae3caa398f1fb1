// @ts-check
// Copy throughput of one org's rows of `expenses` and of the partitioned `revenues`: the
// tenant mover's binary COPY pipe (copyTable, which ANALYZEs each table it filled with
// ANALYZE_MIN_ROWS rows or more) against `psql COPY ... TO STDOUT | psql COPY ... FROM
// STDIN` of the same rows into the same tables (same schema, partitions and indexes on
// both sides), text and binary, each followed by the same ANALYZE (if the mover would
// run one); in the same run, on one throwaway Postgres, the order of
// the three rotated every round. Min and median over the rounds. Build first: tsc -b.
// Env: BENCH_MOVE_ROWS (rows per table, default 500000), BENCH_MOVE_ROUNDS (default 5).
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ANALYZE_MIN_ROWS } from '../control-plane/dist/features/moves/tenant/copyScopeTable.js';
import { createTenantMover } from '../control-plane/dist/features/moves/tenant/PgTenantMover.js';
import { createLogger } from '../control-plane/dist/logger.js';
import { createTestDatabase, startTestPostgres } from '../embedded/dist/index.js';
import { envInt, median, note, printFigure } from './lib.js';
import { havePsql, moverCopy, psqlPipe, seedBigOrg } from './moveLib.js';

const ROWS = envInt('BENCH_MOVE_ROWS', 500_000);
const ROUNDS = envInt('BENCH_MOVE_ROUNDS', 5);
const ORG = 4242;
const TABLES = ['expenses', 'revenues'];

/** @param {string} url @param {string} sql */
async function run(url, sql) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

if (!(await havePsql())) throw new Error('no psql on PATH: install postgresql-client (the embedded binaries have none)');
const pgServer = await startTestPostgres();
try {
  const sourceUrl = await createTestDatabase(pgServer.adminUrl, 'tenant');
  const targetUrl = await createTestDatabase(pgServer.adminUrl, 'tenant');
  note('move', `seeding ${ROWS} expenses and ${ROWS} revenues`);
  await seedBigOrg(sourceUrl, ORG, ROWS, ROWS);
  const mover = createTenantMover({
    moveId: 'mv_bench',
    scope: { kind: 'org', orgId: ORG },
    sourceUrl,
    targetUrl,
    fenceDeadlineMs: 1000,
    log: createLogger({ logLevel: 'warn' }),
  });
  await mover.startCapture();
  // The parents the copied rows reference, as a move copies them first (after
  // startCapture, which clears whatever the target holds of the org).
  for (const t of ['organizations', 'properties']) await psqlPipe({ sourceUrl, targetUrl, table: t, orgId: ORG });
  const total = ROWS * TABLES.length;
  const clear = () => run(targetUrl, `TRUNCATE ${TABLES.join(', ')}`);

  /** @type {Record<string, () => Promise<number>>} each returns elapsed ms for all tables */
  const contenders = {
    mover: async () => {
      let ms = 0;
      for (const t of TABLES) {
        const m = await moverCopy(mover, t);
        if (m.rows !== ROWS) throw new Error(`the mover copied ${m.rows} rows of ${t}, not ${ROWS}`);
        ms += m.ms;
      }
      return ms;
    },
    psqlText: async () => psqlAll('text'),
    psqlBinary: async () => psqlAll('binary'),
  };
  /** @param {'text' | 'binary'} format */
  async function psqlAll(format) {
    const started = performance.now();
    for (const t of TABLES) {
      await psqlPipe({ sourceUrl, targetUrl, table: t, orgId: ORG, format });
      if (ROWS >= ANALYZE_MIN_ROWS) await run(targetUrl, `ANALYZE ${t}`);
    }
    return performance.now() - started;
  }

  /** @type {Record<string, number[]>} rows/s per round */
  const rates = { mover: [], psqlText: [], psqlBinary: [] };
  const names = Object.keys(contenders);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = /** @type {string} */ (names[(round + k) % names.length]);
      await clear();
      await run(targetUrl, 'VACUUM');
      const ms = await /** @type {() => Promise<number>} */ (contenders[name])();
      rates[name]?.push((total / ms) * 1000);
    }
    note('move', `round ${round + 1}/${ROUNDS}: ${names.map((n) => `${n} ${Math.round(rates[n]?.at(-1) ?? 0)} rows/s`).join(', ')}`);
  }
  await mover.abort();
  await mover.close();
  const rateSummary = (/** @type {number[]} */ xs) => ({
    runs: xs.length,
    min: Math.round(Math.min(...xs)),
    median: Math.round(median(xs)),
  });
  const moverMedian = Math.round(median(rates.mover ?? []));
  const extra = {
    rows: total,
    tables: TABLES,
    postCopyWork: ROWS >= ANALYZE_MIN_ROWS ? 'ANALYZE of each table on both sides' : 'none',
    mover: rateSummary(rates.mover ?? []),
    psqlText: rateSummary(rates.psqlText ?? []),
    psqlBinary: rateSummary(rates.psqlBinary ?? []),
  };
  printFigure({
    bench: 'move',
    figure: 'copy_rows_per_s_no_lab',
    value: moverMedian,
    unit: '1/s',
    baseline: Math.round(median(rates.psqlText ?? [])),
    extra: { baselineIs: 'psql COPY | psql COPY, text format', ...extra },
  });
  printFigure({
    bench: 'move',
    figure: 'copy_rows_per_s_no_lab_vs_psql_binary',
    value: moverMedian,
    unit: '1/s',
    baseline: Math.round(median(rates.psqlBinary ?? [])),
    extra: { baselineIs: 'psql COPY (FORMAT binary) | psql COPY (FORMAT binary)' },
  });
} finally {
  await pgServer.stop();
}
