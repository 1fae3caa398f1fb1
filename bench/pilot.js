// @ts-check
// bench:pilot — stratified pilot selection of 100,000 orgs out of 10,000,000, through
// the same code path the control plane runs (COPY out of Postgres into selectPilot),
// against a naive SQL sample (ORDER BY a hash of seed and org id, LIMIT) in the same
// run. The population is a generated stats table in a throwaway embedded Postgres:
// reading real tenant tables would measure the tenant schema, not the selection.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { copyOrgStats, selectPilot } from '../control-plane/dist/index.js';
import { createTestDatabase, startTestPostgres } from '../embedded/dist/index.js';
import { printFigure } from './lib.js';

const ORGS = Number(process.env.BENCH_ORGS ?? 10_000_000);
const COUNT = Number(process.env.BENCH_COUNT ?? 100_000);
const SEED = 20260115;
const DAY_MS = 86_400_000;

const server = await startTestPostgres();
// Ctrl-C must not leave the throwaway Postgres running.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.stop().finally(() => process.exit(130));
  });
}
try {
  const url = await createTestDatabase(server.adminUrl, 'control-plane');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const now = Date.now();
  const t0 = performance.now();
  // Sizes spread over four decades (float8, not numeric: numeric made this minutes slower), activity over 90 days; both derived from the id.
  await client.query(
    `CREATE UNLOGGED TABLE org_stats AS
     SELECT id AS org_id,
            (power(4::float8, (id * 2654435761 % 4294967296)::float8 / 4294967296 * 6))::bigint AS size_rows,
            ($2::bigint - (id * 40503 % 65536) * 90 * $3::bigint / 65536) AS last_active_ms
     FROM generate_series(1, $1::bigint) id`,
    [ORGS, now, DAY_MS],
  );
  process.stderr.write(`generated ${ORGS} org stats in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  /** @type {Parameters<typeof selectPilot>[0]} */
  const source = { scan: (onBatch) => copyOrgStats(client, 'SELECT org_id, size_rows, last_active_ms FROM org_stats', onBatch) };
  const t1 = performance.now();
  const selection = await selectPilot(source, { count: COUNT, seed: SEED, now: new Date(now) });
  const seconds = (performance.now() - t1) / 1000;
  if (selection.orgIds.length !== COUNT) throw new Error(`selected ${selection.orgIds.length}, not ${COUNT}`);
  process.stderr.write(`${JSON.stringify(selection.strata)}\n`);

  await client.query("SET work_mem = '256MB'");
  const t2 = performance.now();
  const naive = await client.query(`SELECT org_id FROM org_stats ORDER BY hashtextextended(org_id::text, $1) LIMIT $2`, [SEED, COUNT]);
  const baseline = (performance.now() - t2) / 1000;
  if (naive.rowCount !== COUNT) throw new Error('the naive sample came back short');
  await client.end();

  printFigure({
    bench: 'pilot',
    figure: 'select_100k_of_10m_seconds',
    value: Number(seconds.toFixed(2)),
    unit: 's',
    baseline: Number(baseline.toFixed(2)),
  });
} finally {
  await server.stop();
}
