// @ts-check
// bench:move — online org moves on a real lab (3 clusters of 10,000 orgs, a streaming
// replica each), driven through the control plane's API and measured from its records.
//
// Figures:
// - copy_rows_per_s: one org of 1,000,000 rows moved back and forth BENCH_COPY_RUNS times
//   (primary-3 -> primary-2 -> primary-3 ...); rows copied / copy phase (the move's
//   `copying` event to its `catching_up` event). Baselines in the same run, before each
//   move, into the same target tables (partitioned `revenues` included) with the same
//   post-copy work (ANALYZE of each table that got ANALYZE_MIN_ROWS rows or more, as the
//   mover does): `psql COPY ... TO STDOUT | psql COPY ... FROM STDIN`, text and binary.
//   Min and median over the runs.
// - write_block: BENCH_CUTOVERS moves of small, medium and large orgs, each while an
//   open-loop writer sends BENCH_WRITES_PER_S writes a second to the org being moved (one
//   in four a two-UPDATE transaction; latency = acknowledgement - due time), following it
//   to its new cluster. Per cutover, the longest any write waited, every attempt
//   included (from the first `cutting_over` event to the flip); the move's exact recorded
//   fence window beside it. Fewer than 100 cutovers: `max_of_N`, not a p99.
// - percent_N_of_10000_orgs_s: `POST /v1/moves {from, to, percent}` until every move of
//   the batch flipped (BENCH_PERCENT, default 1; 10 takes ~10 min).
//
// Range figures (issue 13; moveRange.js): primary-3's block (org ids 20,001 on) is
// topped up to BENCH_RANGE_ORGS orgs with the lab's own seed, the top 10 % of its org ids
// and the 1 % below them are split into ranges of their own (POST /v1/shard-map/split),
// and each is moved to primary-1 as ONE range move (`POST /v1/moves {range, to,
// copyStreams, readFrom}`, grace 0) and back, under the open-loop writer spread over the
// range's orgs (a random org per write). Each move's CPU is sampled from /proc.
// - range_lab_seed_s: the top-up, when one ran (orgs/s and the database size beside it).
// - range_move_10pct_s: the 10 % range move, created -> flipped; baseline: the per-org
//   batch (`POST /v1/moves {orgIds}`) of BENCH_ORG_BASELINE of the same orgs, timed to
//   the last flip and extrapolated linearly to the range's orgs (hours at 1 M orgs).
// - range_copy_rows_per_s: rows / copy phase of that move; baseline: one `psql COPY
//   (SELECT ... WHERE org_id BETWEEN lo AND hi) TO STDOUT (FORMAT binary) | psql COPY
//   ... FROM STDIN` pipe of the same rows into the same target tables, table by table.
// - range_copy_source_cpu_s: CPU seconds of the source primary (postmaster + children)
//   during the copy phase, readFrom 'replica' (there); baseline readFrom 'primary' (the
//   same range back). The psql pipe's source CPU is beside it.
// - range_fence_max_of_4_ms (p99 from 100 moves on): per range move, the longest a write
//   waited from the first `cutting_over` to the flip; the recorded lastFenceMs and the
//   10 % / 1 % split beside it (flat in the range's size); baseline: the idle writer's
//   p99. range_fence_window_recorded_*_ms: the recorded windows alone.
// - range_move_extrapolated_100k_orgs_s: range_move_10pct_s scaled linearly to 100,000
//   orgs (the lab's size in `extra`); baseline: the per-org sample scaled the same way.
// On a control plane without range moves (its OpenAPI POST /v1/moves has no readFrom)
// everything else still runs (seed, splits, psql pipe and its CPU, idle writer, per-org
// sample), the range-move figures print value null, and the run exits non-zero.
//
// Env: BENCH_MOVE_MODE (all | org | range; default all: the org figures, then the range
// figures), BENCH_BIG_ROWS (1000000), BENCH_COPY_RUNS (3), BENCH_CUTOVERS (20),
// BENCH_WRITES_PER_S (400; 0: no writers), BENCH_PERCENT (1; 0 skips),
// BENCH_PERCENT_CONCURRENCY (the API's default when unset; also the per-org sample's),
// BENCH_RANGE_ORGS (10000, up to 1000000: orgs of primary-3's block the range figures
// run on; below 10,000 the first N of the lab's), BENCH_ORG_BASELINE (200: the per-org
// sample), BENCH_COPY_STREAMS (the API's default when unset), BENCH_KEEP_LAB=1 keeps the
// lab, BENCH_LAB_DIR=<dir> uses the lab there (created if absent) and keeps it.
//
// Range mode's time (2 cores at load 8-15, before range moves existed): with the default
// 10,000 orgs, lab up ~30 s, psql pipe ~3 s, per-org sample of 200 ~3 min (+2 min of
// rollbacks on a kept lab), plus the four range moves. The 1 M-org run, `BENCH_MOVE_MODE=range
// BENCH_RANGE_ORGS=1000000 npm run bench:move` (with BENCH_LAB_DIR the seeded lab is kept
// for the next run): the top-up seeded 988,000 orgs (81 M rows) into primary-3 in 13 min
// (`lab up --orgs 1000000 --clusters 1` seeds 1 M in 9.5 min: INSERT ... SELECT
// generate_series, 20,000 orgs a statement, bound by Postgres's index and WAL work, not
// by round trips); the psql pipe of the 10 % (8.2 M rows) 64 s; the per-org sample 160 s;
// 21 min in all without the range moves; ~22 GB of disk (primary-3 and its replica ~10 GB
// each).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { labDown, labUp, orgShape } from '../cli/dist/lab/index.js';
import { ANALYZE_MIN_ROWS } from '../control-plane/dist/features/moves/tenant/copyScopeTable.js';
import { envInt, median, note, percentile, percentileLabel, printFigure, summary } from './lib.js';
import { eventAt, makeApi, query, toPerf, waitFor } from './moveApi.js';
import { havePsql, latencySummary, psqlBaseline, startOpenLoopWriter, TENANT_TABLES, writeBlock } from './moveLib.js';
import { rangeFigures } from './moveRange.js';

/** @typedef {import('./moveApi.js').Json} Json */
/** @typedef {import('./moveApi.js').Api} Api */

const BIG_ROWS = envInt('BENCH_BIG_ROWS', 1_000_000);
const COPY_RUNS = envInt('BENCH_COPY_RUNS', 3);
const CUTOVERS = envInt('BENCH_CUTOVERS', 20);
const WRITES_PER_S = envInt('BENCH_WRITES_PER_S', 400);
const PERCENT = envInt('BENCH_PERCENT', 1);
const PERCENT_CONCURRENCY = envInt('BENCH_PERCENT_CONCURRENCY', 0);
const MODE = benchMode(process.env.BENCH_MOVE_MODE);
const RANGE_ORGS = envInt('BENCH_RANGE_ORGS', 10_000);
const ORG_BASELINE = envInt('BENCH_ORG_BASELINE', 200);
const COPY_STREAMS = envInt('BENCH_COPY_STREAMS', 0);
const ORGS = 30_000; // 10,000 per cluster
const BIG_ORG = 5_000_000; // unseeded, in primary-3's range
const LONG_GRACE_S = 604_800; // nothing completes by itself during the run

/** @param {string | undefined} raw @returns {'all' | 'org' | 'range'} */
function benchMode(raw) {
  const mode = raw === undefined || raw === '' ? 'all' : raw;
  if (mode !== 'all' && mode !== 'org' && mode !== 'range')
    throw new Error(`BENCH_MOVE_MODE must be all, org or range, not ${JSON.stringify(raw)}`);
  return mode;
}

const emit = (
  /** @type {string} */ figure,
  /** @type {number | null} */ value,
  /** @type {string} */ unit,
  /** @type {number | null} */ baseline = null,
  /** @type {Record<string, unknown>} */ extra = {},
) => printFigure({ bench: 'move', figure, value, unit, baseline, extra });
const log = (/** @type {string} */ line) => note('move', line);
const round = (/** @type {number} */ x, digits = 1) => Number(x.toFixed(digits));
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** One org of `total` rows over the tenant tables, generated by Postgres itself. @param {string} url @param {number} orgId @param {number} total */
async function createBigOrg(url, orgId, total) {
  const properties = 100;
  const users = 1000;
  const guests = Math.floor((total - 1 - properties - 2 * users) * 0.4);
  const expenses = Math.floor((total - 1 - properties - 2 * users) * 0.3);
  const revenues = total - 1 - properties - 2 * users - guests - expenses;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query('BEGIN');
    await client.query(`INSERT INTO organizations (org_id, name, plan) VALUES ($1, 'Bench org', 'enterprise')`, [orgId]);
    /** @type {Array<[string, number]>} */
    const steps = [
      [`INSERT INTO properties (org_id, property_id, name) SELECT $1, p, 'Property ' || p FROM generate_series(1, $2) p`, properties],
      [`INSERT INTO users (org_id, user_id, email) SELECT $1, u, 'user' || u || '@bench.example.com' FROM generate_series(1, $2) u`, users],
      [
        `INSERT INTO staff (org_id, staff_id, property_id, user_id, title) SELECT $1, u, 1 + u % ${properties}, u, 'staff' FROM generate_series(1, $2) u`,
        users,
      ],
      [
        `INSERT INTO guests (org_id, guest_id, property_id, full_name, checked_in)
         SELECT $1, g, 1 + g % ${properties}, 'Guest number ' || g, date '2025-01-01' + (g % 1000) FROM generate_series(1, $2) g`,
        guests,
      ],
      [
        `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
         SELECT $1, e, 1 + e % ${properties}, 500 + e % 200000, 'supplies', date '2025-01-01' + (e % 1000) FROM generate_series(1, $2) e`,
        expenses,
      ],
      [
        `INSERT INTO revenues (org_id, revenue_id, property_id, amount_cents, booked_on)
         SELECT $1, r, 1 + r % ${properties}, 1000 + r % 500000, date '2025-01-01' + (r % 1095) FROM generate_series(1, $2) r`,
        revenues,
      ],
    ];
    for (const [sql, n] of steps) await client.query(sql, [orgId, n]);
    await client.query('COMMIT');
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

/**
 * Small, medium and large orgs of a cluster's seeded block, about 10 : 7 : 3, among those
 * `usable` says yes to.
 * @param {number} first
 * @param {number} last
 * @param {number} count
 * @param {(orgId: number) => Promise<boolean>} usable
 */
async function pickOrgs(first, last, count, usable) {
  /** @type {Record<string, number>} */
  const want = { small: Math.ceil(count / 2), medium: Math.ceil((count * 7) / 20), large: 0 };
  want.large = count - (want.small ?? 0) - (want.medium ?? 0);
  /** @type {Array<{ orgId: number, size: string, guests: number }>} */
  const picked = [];
  for (let id = first; id <= last && picked.length < count; id += 7) {
    const shape = orgShape(id);
    if ((want[shape.size] ?? 0) > 0 && (await usable(id))) {
      want[shape.size] = (want[shape.size] ?? 0) - 1;
      picked.push({ orgId: id, size: shape.size, guests: shape.guests });
    }
  }
  return picked;
}

/** A writer that follows the org through the API on OPF02, as the runtime follows the map. @param {Record<string, string>} url @param {Api} api @param {number} orgId @param {string} clusterId @param {number} idMax */
function followingWriter(url, api, orgId, clusterId, idMax) {
  let current = clusterId;
  /** @type {Promise<void> | null} */
  let asking = null;
  return startOpenLoopWriter({
    ownerUrl: () => /** @type {string} */ (url[current]),
    onMoved: () => {
      asking ??= api('GET', `/v1/orgs/${orgId}/location`)
        .then((loc) => {
          current = loc.clusterId;
        })
        .finally(() => {
          asking = null;
        });
      return asking;
    },
    orgId,
    ratePerSec: WRITES_PER_S,
    idMax,
    table: 'guests',
    idColumn: 'guest_id',
    setClause: `full_name = 'Guest written at ' || clock_timestamp()`,
  });
}

/** @param {Api} api @param {Record<string, string>} url */
async function copyRuns(api, url) {
  if ((await query(/** @type {string} */ (url['primary-3']), 'SELECT 1 FROM organizations WHERE org_id = $1', [BIG_ORG])).length === 0) {
    log(`creating org ${BIG_ORG} with ${BIG_ROWS} rows on primary-3`);
    await createBigOrg(/** @type {string} */ (url['primary-3']), BIG_ORG, BIG_ROWS);
  }
  /** @type {number[]} */ const moverRates = [];
  /** @type {number[]} */ const textRates = [];
  /** @type {number[]} */ const binaryRates = [];
  /** @type {number[]} */ const totals = [];
  /** @type {number[]} */ const idleFences = [];
  let from = 'primary-3';
  for (let run = 0; run < COPY_RUNS; run++) {
    const to = from === 'primary-3' ? 'primary-2' : 'primary-3';
    const src = /** @type {string} */ (url[from]);
    const dst = /** @type {string} */ (url[to]);
    // Warm the source's cache for every contender alike.
    for (const t of TENANT_TABLES) await query(src, `SELECT count(*) FROM ${t} WHERE org_id = $1`, [BIG_ORG]);
    const text = await psqlBaseline(src, dst, { orgId: BIG_ORG }, 'text');
    const binary = await psqlBaseline(src, dst, { orgId: BIG_ORG }, 'binary');
    const created = await api('POST', '/v1/moves', { orgIds: [BIG_ORG], to, graceSeconds: 0, reason: 'bench:move copy' });
    const flipped = await waitFor(api, created.moves[0].id, ['flipped', 'completing', 'completed']);
    const done = await waitFor(api, created.moves[0].id, ['completed']);
    const copySeconds = (eventAt(done, 'catching_up') - eventAt(done, 'copying')) / 1000;
    const rows = done.progress.rowsCopied;
    if (rows !== text.rows || rows !== binary.rows)
      log(`note: the move copied ${rows} rows, psql ${text.rows} (text) / ${binary.rows} (binary)`);
    moverRates.push(rows / copySeconds);
    textRates.push(text.rows / text.seconds);
    binaryRates.push(binary.rows / binary.seconds);
    totals.push((Date.parse(done.flippedAt) - Date.parse(done.createdAt)) / 1000);
    idleFences.push(done.progress.lastFenceMs ?? flipped.progress.lastFenceMs ?? Number.NaN);
    log(
      `run ${run + 1}/${COPY_RUNS} ${from} -> ${to}: mover ${Math.round(rows / copySeconds)} rows/s, psql text ${Math.round(text.rows / text.seconds)}, binary ${Math.round(binary.rows / binary.seconds)}`,
    );
    await query(src, 'VACUUM ANALYZE'); // the completed move deleted the source's rows
    from = to;
  }
  const rateSummary = (/** @type {number[]} */ xs) => ({
    runs: xs.length,
    min: Math.round(Math.min(...xs)),
    median: Math.round(median(xs)),
  });
  const extra = {
    rows: BIG_ROWS,
    postCopyWork: `ANALYZE of each table that got ${ANALYZE_MIN_ROWS} rows or more, on both sides`,
    mover: rateSummary(moverRates),
    psqlText: rateSummary(textRates),
    psqlBinary: rateSummary(binaryRates),
  };
  emit('copy_rows_per_s', Math.round(median(moverRates)), '1/s', Math.round(median(textRates)), {
    baselineIs: 'psql COPY TO STDOUT | psql COPY FROM STDIN, text format',
    ...extra,
  });
  emit('copy_rows_per_s_vs_psql_binary', Math.round(median(moverRates)), '1/s', Math.round(median(binaryRates)), {
    baselineIs: 'psql COPY (FORMAT binary) | psql COPY (FORMAT binary)',
  });
  emit('move_1m_rows_total_s', round(median(totals), 2), 's', null, { what: 'created -> flipped', ...summary(totals, 2) });
  emit('fence_ms_1m_row_org_idle', round(median(idleFences)), 'ms', null, {
    what: 'recorded fence window, no writers',
    ...summary(idleFences),
  });
}

/** @param {Api} api @param {Record<string, string>} url */
async function cutovers(api, url) {
  const first = 10_001; // primary-2's seeded block
  // Only orgs still on primary-2 (a kept lab may have moved some already).
  const orgs = await pickOrgs(
    first,
    first + 9_999,
    CUTOVERS,
    async (id) => (await api('GET', `/v1/orgs/${id}/location`)).clusterId === 'primary-2',
  );
  log(`${orgs.length} cutovers under ${WRITES_PER_S} writes/s (${orgs.map((o) => o.size[0]).join('')})`);
  // The writers' latency with no move running, same rate, same run.
  const idleOrg = /** @type {{ orgId: number, guests: number }} */ (orgs[0]);
  const idleWriter = followingWriter(url, api, idleOrg.orgId, 'primary-2', Math.max(1, idleOrg.guests));
  await sleep(3000);
  const idle = latencySummary((await idleWriter.stop()).records);

  /** @type {number[]} */ const blocks = [];
  /** @type {number[]} */ const fences = [];
  /** @type {Record<string, number[]>} */ const bySize = { small: [], medium: [], large: [] };
  /** @type {import('./moveLib.js').WriteRecord[]} */ const all = [];
  let misses = 0;
  let due = 0;
  let dropped = 0;
  let failedInCutovers = 0;
  for (const o of orgs) {
    const writer = followingWriter(url, api, o.orgId, 'primary-2', Math.max(1, o.guests));
    const res = await api('POST', '/v1/moves', {
      orgIds: [o.orgId],
      to: 'primary-3',
      graceSeconds: LONG_GRACE_S,
      reason: 'bench:move fence',
    });
    const m = await waitFor(api, res.moves[0].id, ['flipped']);
    // Keep writing a moment after the flip: stragglers hit OPF02 and follow the org.
    await sleep(200);
    const stopped = await writer.stop();
    const startAt = toPerf(eventAt(m, 'cutting_over', 'first'));
    const endAt = toPerf(Date.parse(m.flippedAt));
    const block = writeBlock(stopped.records, startAt, endAt);
    blocks.push(block.maxWaitMs);
    failedInCutovers += block.failed;
    fences.push(m.progress.lastFenceMs);
    bySize[o.size]?.push(block.maxWaitMs);
    misses += (m.events ?? []).filter((/** @type {Json} */ e) => e.state === 'waiting').length;
    due += stopped.due;
    dropped += stopped.dropped;
    all.push(...stopped.records);
  }
  const during = latencySummary(all);
  const label = percentileLabel(99, blocks.length);
  const counts = {
    cutovers: blocks.length,
    deadlineMisses: misses,
    writesDue: due,
    writesAcked: during.acked,
    writesFailed: during.failed,
    writesDropped: dropped,
  };
  emit(`write_block_${label}_ms`, round(percentile(blocks, 99)), 'ms', idle.p99, {
    what: 'per cutover, the longest any write to the moving org waited (ack or give-up minus due time), every attempt included',
    baselineIs: 'p99 write latency with no move running, same writer',
    p50: round(percentile(blocks, 50)),
    perCutover: summary(blocks),
    p50BySize: Object.fromEntries(Object.entries(bySize).map(([k, xs]) => [k, xs.length ? round(median(xs)) : null])),
    ...counts,
    failedDuringCutovers: failedInCutovers,
    writesPerS: WRITES_PER_S,
  });
  emit(`fence_window_recorded_${label}_ms`, round(percentile(fences, 99)), 'ms', null, {
    what: "the move's recorded fence window (lastFenceMs: lock granted to release, the attempt that flipped)",
    p50: round(percentile(fences, 50)),
    perCutover: summary(fences),
  });
  emit('write_latency_p99_ms_during_moves', during.p99, 'ms', idle.p99, { during, idle });
}

/** @param {Api} api */
async function percentBatch(api) {
  log(`moving ${PERCENT} % of primary-1`);
  const tPct = performance.now();
  const batch = await api('POST', '/v1/moves', {
    from: 'primary-1',
    to: 'primary-3',
    percent: PERCENT,
    graceSeconds: LONG_GRACE_S,
    reason: 'bench:move percent',
    ...(PERCENT_CONCURRENCY ? { concurrency: PERCENT_CONCURRENCY } : {}),
  });
  for (;;) {
    const b = await api('GET', `/v1/move-batches/${batch.batch.id}`);
    const flipped = b.counts?.flipped ?? 0;
    const bad = (b.counts?.failed ?? 0) + (b.counts?.aborted ?? 0) + (b.counts?.rolled_back ?? 0);
    if (bad > 0) throw new Error(`percent batch: ${JSON.stringify(b.counts)}`);
    if (flipped === batch.moves.length) break;
    await sleep(500);
  }
  const pctSeconds = (performance.now() - tPct) / 1000;
  log(`${batch.moves.length} orgs at concurrency ${batch.batch.concurrency} in ${round(pctSeconds)} s`);
  emit(`percent_${PERCENT}_of_10000_orgs_s`, round(pctSeconds), 's', null, {
    orgs: batch.moves.length,
    concurrency: batch.batch.concurrency,
  });
  emit(`percent_${PERCENT}_orgs_per_s`, round(batch.moves.length / pctSeconds, 2), '1/s');
}

async function main() {
  if (!(await havePsql())) throw new Error('no psql on PATH: install postgresql-client (the embedded binaries have none)');
  // BENCH_LAB_DIR: use (and keep) that lab, started if need be, instead of a fresh one.
  const work = process.env.BENCH_LAB_DIR ? null : await mkdtemp(path.join(tmpdir(), 'orgplane-bench-move-'));
  if (work) await chmod(work, 0o755); // Postgres runs as another OS user
  const dir = work ? path.join(work, 'lab') : path.resolve(/** @type {string} */ (process.env.BENCH_LAB_DIR));
  log(`lab up in ${dir} (${ORGS} orgs, 3 clusters, 1 replica each)`);
  const t0 = performance.now();
  const lab = await labUp({ dir, orgs: ORGS, clusters: 3, replicas: 1 });
  log(`lab up took ${round((performance.now() - t0) / 1000)} s`);
  const api = makeApi(lab.controlPlane.url, lab.controlPlane.token ?? '');
  /** @type {Record<string, string>} */
  const url = Object.fromEntries(lab.clusters.map((c) => [c.id, c.primary.url]));
  const keepLab = !work || Boolean(process.env.BENCH_KEEP_LAB);
  try {
    if (MODE !== 'range') {
      if (COPY_RUNS > 0) await copyRuns(api, url);
      if (CUTOVERS > 0) await cutovers(api, url);
      if (PERCENT > 0) await percentBatch(api);
    }
    if (MODE !== 'org') {
      await rangeFigures({
        api,
        labDir: dir,
        lab,
        labOrgs: ORGS,
        sourceOrgs: RANGE_ORGS,
        orgBaseline: ORG_BASELINE,
        writesPerS: WRITES_PER_S,
        copyStreams: COPY_STREAMS,
        batchConcurrency: PERCENT_CONCURRENCY,
        keepLab,
        emit: (figure, value, unit, baseline = null, extra = {}) => emit(figure, value, unit, baseline, extra),
        log,
      });
    }
  } finally {
    if (keepLab) {
      log(`lab kept in ${dir}`);
    } else {
      await labDown({ dir, purge: true });
      await rm(work, { recursive: true, force: true });
    }
  }
}

await main();
