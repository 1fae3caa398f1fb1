// @ts-check
// What the ownership check costs a request: the runtime's transaction() and query()
// paths (kit's inTransaction with the check sent with BEGIN; claimedQuery, one more round
// trip) against the same work without the check, on one real Postgres, in the same run.
//
// - transaction: BEGIN, an UPDATE of one row, a SELECT of one row, COMMIT;
// - query: one indexed SELECT in autocommit.
// Each is timed one at a time (latency: what one request pays) and with 8 in flight on a
// pool of 8 (throughput on this 2-core machine), in rounds that alternate with and
// without the check so that drift on a shared machine hits both alike. The markers table
// holds BENCH_OWNERSHIP_TOMBSTONES 'moved' rows (default 100,000: a cluster that has seen
// that many orgs leave) plus range markers, so the check is a real index probe.
// Build first: tsc -b. Env: BENCH_OWNERSHIP_ROUNDS (6), BENCH_OWNERSHIP_OPS (2000 per
// round and variant), BENCH_OWNERSHIP_TOMBSTONES (100000).
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createTestDatabase, startTestPostgres } from '../embedded/dist/index.js';
import { inTransaction } from '../kit/dist/index.js';
import { claimedQuery, claimStatement } from '../runtime/dist/ownership.js';
import { envInt, median, note, percentile, printFigure } from './lib.js';

const ROUNDS = envInt('BENCH_OWNERSHIP_ROUNDS', 6);
const OPS = envInt('BENCH_OWNERSHIP_OPS', 2000);
const TOMBSTONES = envInt('BENCH_OWNERSHIP_TOMBSTONES', 100_000);
const CONCURRENCY = 8;
const ORGS = 64;
const r3 = (/** @type {number} */ x) => Number(x.toFixed(3));

/** @param {pg.Pool} pool */
async function seed(pool) {
  await pool.query(`INSERT INTO organizations (org_id, name) SELECT i, 'org ' || i FROM generate_series(1, ${ORGS}) i`);
  await pool.query(`INSERT INTO properties (org_id, property_id, name) SELECT i, 1, 'p' FROM generate_series(1, ${ORGS}) i`);
  await pool.query(
    `INSERT INTO users (org_id, user_id, email) SELECT o, u, 'u' || u || '@o' || o FROM generate_series(1, ${ORGS}) o, generate_series(1, 20) u`,
  );
  await pool.query(
    `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
     SELECT o, e, 1, 100, 'c', DATE '2026-01-01' FROM generate_series(1, ${ORGS}) o, generate_series(1, 20) e`,
  );
  // Orgs that left this cluster long ago, and ranges it gave away: none is asked about.
  await pool.query(
    `INSERT INTO orgplane_org_moves (org_id, state, move_id) SELECT 1000000 + i, 'moved', 'bench' FROM generate_series(1, ${TOMBSTONES}) i`,
  );
  await pool.query(
    `INSERT INTO orgplane_range_markers (lo, hi, state, reason)
     SELECT 10000000 + i * 1000, 10000000 + i * 1000 + 499, 'moved', 'bench' FROM generate_series(0, 999) i`,
  );
  await pool.query('ANALYZE');
}

/** @typedef {(pool: pg.Pool, orgId: number, k: number) => Promise<unknown>} Op */

/** @typedef {'checked' | 'unchecked'} Variant */
/** @type {Record<string, Record<Variant, Op>>} */
const WORK = {
  transaction: {
    checked: (pool, orgId, k) =>
      inTransaction(pool, (/** @type {pg.PoolClient} */ c) => txBody(c, orgId, k), { withBegin: claimStatement(orgId) }),
    unchecked: (pool, orgId, k) => inTransaction(pool, (/** @type {pg.PoolClient} */ c) => txBody(c, orgId, k)),
  },
  query: {
    checked: (pool, orgId, k) =>
      claimedQuery(pool, orgId, 'SELECT email FROM users WHERE org_id = $1 AND user_id = $2', [orgId, 1 + (k % 20)]),
    unchecked: (pool, orgId, k) => pool.query('SELECT email FROM users WHERE org_id = $1 AND user_id = $2', [orgId, 1 + (k % 20)]),
  },
};

/**
 * @param {pg.PoolClient} c
 * @param {number} orgId
 * @param {number} k
 */
async function txBody(c, orgId, k) {
  const id = 1 + (k % 20);
  await c.query('UPDATE expenses SET amount_cents = amount_cents + 1 WHERE org_id = $1 AND expense_id = $2', [orgId, id]);
  return c.query('SELECT amount_cents FROM expenses WHERE org_id = $1 AND expense_id = $2', [orgId, id]);
}

/** One at a time: the latency of each op, in ms. */
async function sequential(/** @type {pg.Pool} */ pool, /** @type {Op} */ op) {
  /** @type {number[]} */
  const ms = [];
  for (let k = 0; k < OPS; k++) {
    const t0 = performance.now();
    await op(pool, 1 + (k % ORGS), k);
    ms.push(performance.now() - t0);
  }
  return ms;
}

/** CONCURRENCY in flight: ops per second. */
async function concurrent(/** @type {pg.Pool} */ pool, /** @type {Op} */ op) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < OPS) {
        const k = next++;
        await op(pool, 1 + (k % ORGS), k);
      }
    }),
  );
  return OPS / ((performance.now() - t0) / 1000);
}

const server = await startTestPostgres();
try {
  const url = await createTestDatabase(server.adminUrl, 'tenant');
  const pool = new pg.Pool({ connectionString: url, max: CONCURRENCY });
  await seed(pool);
  for (const [name, variants] of Object.entries(WORK)) {
    note('ownership', `${name}: ${ROUNDS} rounds of ${OPS} ops, with and without the check, ${TOMBSTONES} tombstones`);
    // Warm both paths (plans, connections) before measuring.
    await sequential(pool, variants.checked);
    await sequential(pool, variants.unchecked);
    /** @type {Record<Variant, number[]>} */
    const latency = { checked: [], unchecked: [] };
    /** @type {Record<Variant, number[]>} */
    const rate = { checked: [], unchecked: [] };
    for (let round = 0; round < ROUNDS; round++) {
      /** @type {Variant[]} */
      const order = round % 2 === 0 ? ['checked', 'unchecked'] : ['unchecked', 'checked'];
      for (const variant of order) {
        latency[variant].push(...(await sequential(pool, variants[variant])));
        rate[variant].push(await concurrent(pool, variants[variant]));
      }
    }
    const p50 = { checked: median(latency.checked), unchecked: median(latency.unchecked) };
    printFigure({
      bench: 'ownership',
      figure: `${name}_latency_p50_ms`,
      value: r3(p50.checked),
      unit: 'ms',
      baseline: r3(p50.unchecked),
      extra: {
        what: `one ${name} at a time through the runtime's path with the ownership check; baseline: the same without it`,
        addedUs: Math.round((p50.checked - p50.unchecked) * 1000),
        p99: r3(percentile(latency.checked, 99)),
        baselineP99: r3(percentile(latency.unchecked, 99)),
        samples: latency.checked.length,
        tombstones: TOMBSTONES,
      },
    });
    printFigure({
      bench: 'ownership',
      figure: `${name}_throughput_per_s`,
      value: Math.round(median(rate.checked)),
      unit: 'ops/s',
      baseline: Math.round(median(rate.unchecked)),
      extra: {
        what: `${CONCURRENCY} in flight on a pool of ${CONCURRENCY}, median of ${ROUNDS} rounds; baseline: without the check`,
        rounds: rate.checked.map(Math.round),
        baselineRounds: rate.unchecked.map(Math.round),
      },
    });
  }
  await pool.end();
} finally {
  await server.stop();
}
