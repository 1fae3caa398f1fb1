// @ts-check
// bench:move-batch — a batch of small orgs moved through the control plane's API on a
// real lab (2 clusters of 10,000 orgs, as in bench:move, a streaming replica each),
// measured from the moves' own records: what bounds a batch of orgs that each copy a
// dozen rows.
//
// Figures, per run (BENCH_RUNS, each with BENCH_BATCH small orgs of primary-1 that are
// still there, moved to primary-2 at the API's default concurrency):
// - batch_orgs_per_s: orgs / (POST -> every move of the batch flipped);
// - per step, the median time between the move's events: queued (created -> preparing),
//   capture (preparing -> copying), copy (copying -> catching_up, 7 tables), catchUp
//   (catching_up -> cutting_over), cutover (cutting_over -> flipped), afterFlip (the
//   flip -> the fence window recorded, when the worker lets go); and the handover gap:
//   how long a slot of the batch stood empty between one move's end and the next one's
//   start.
//
// Env: BENCH_BATCH (40), BENCH_RUNS (2), BENCH_ORGS (20000, over both clusters),
// BENCH_LAB_DIR=<dir> uses (and keeps) the lab there, created if absent.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { labDown, labUp, orgShape } from '../cli/dist/lab/index.js';
import { envInt, median, note, printFigure } from './lib.js';
import { makeApi } from './moveApi.js';

/** @typedef {import('./moveApi.js').Json} Json */
/** @typedef {import('./moveApi.js').Api} Api */

const BATCH = envInt('BENCH_BATCH', 40);
const RUNS = envInt('BENCH_RUNS', 2);
const ORGS = envInt('BENCH_ORGS', 20_000); // primary-1 holds the first half
const LONG_GRACE_S = 604_800; // nothing completes by itself during the run

const log = (/** @type {string} */ line) => note('move-batch', line);
const round = (/** @type {number} */ x, digits = 1) => Number(x.toFixed(digits));
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** The time of a move's first event in `state` whose message starts with `prefix`. @param {Json} move @param {string} state @param {string} [prefix] */
function at(move, state, prefix = '') {
  const e = (move.events ?? []).find((/** @type {Json} */ ev) => ev.state === state && ev.message.startsWith(prefix));
  if (!e) throw new Error(`move ${move.id} has no ${state} event '${prefix}...'`);
  return Date.parse(e.at);
}

/** @param {Api} api @param {number} count */
async function pickSmallOrgs(api, count) {
  /** @type {number[]} */
  const picked = [];
  for (let id = 1; id <= ORGS / 2 && picked.length < count; id++) {
    if (orgShape(id).size !== 'small') continue;
    if ((await api('GET', `/v1/orgs/${id}/location`)).clusterId === 'primary-1') picked.push(id);
  }
  if (picked.length < count) throw new Error(`only ${picked.length} small orgs left on primary-1`);
  return picked;
}

/** @param {Api} api @param {number} run */
async function batchRun(api, run) {
  const orgIds = await pickSmallOrgs(api, BATCH);
  const t0 = performance.now();
  const created = await api('POST', '/v1/moves', { orgIds, to: 'primary-2', graceSeconds: LONG_GRACE_S, reason: 'bench:move-batch' });
  for (;;) {
    const b = await api('GET', `/v1/move-batches/${created.batch.id}`);
    const bad = (b.counts?.failed ?? 0) + (b.counts?.aborted ?? 0) + (b.counts?.rolled_back ?? 0);
    if (bad > 0) throw new Error(`batch: ${JSON.stringify(b.counts)}`);
    if ((b.counts?.flipped ?? 0) === orgIds.length) break;
    await sleep(50);
  }
  const seconds = (performance.now() - t0) / 1000;
  /** @type {Json[]} */
  const moves = [];
  for (const m of created.moves) moves.push(await api('GET', `/v1/moves/${m.id}`));
  /** @type {Record<string, number[]>} */
  const steps = { queued: [], capture: [], copy: [], catchUp: [], cutover: [], afterFlip: [], waiting: [] };
  /** @type {number[]} */ const starts = [];
  /** @type {number[]} */ const ends = [];
  for (const m of moves) {
    const created = at(m, 'pending');
    const preparing = at(m, 'preparing');
    const copying = at(m, 'copying');
    const catchingUp = at(m, 'catching_up');
    const cuttingOver = at(m, 'cutting_over');
    const flipped = at(m, 'flipped', 'flipped:');
    const fenceRecorded = at(m, 'flipped', 'flipped after');
    steps.queued?.push(preparing - created);
    steps.capture?.push(copying - preparing);
    steps.copy?.push(catchingUp - copying);
    steps.catchUp?.push(cuttingOver - catchingUp);
    steps.cutover?.push(flipped - cuttingOver);
    steps.afterFlip?.push(fenceRecorded - flipped);
    steps.waiting?.push((m.events ?? []).filter((/** @type {Json} */ e) => e.state === 'waiting').length);
    starts.push(preparing);
    ends.push(fenceRecorded);
  }
  // A slot freed by the i-th move to end is taken by the (concurrency + i)-th to start.
  const concurrency = created.batch.concurrency;
  starts.sort((a, b) => a - b);
  ends.sort((a, b) => a - b);
  /** @type {number[]} */ const gaps = [];
  for (let i = concurrency; i < starts.length; i++)
    gaps.push(/** @type {number} */ (starts[i]) - /** @type {number} */ (ends[i - concurrency]));
  const perStep = Object.fromEntries(Object.entries(steps).map(([k, xs]) => [k, round(median(xs))]));
  log(`run ${run}: ${orgIds.length} orgs at concurrency ${concurrency} in ${round(seconds, 2)} s; median ms ${JSON.stringify(perStep)}`);
  printFigure({
    bench: 'move-batch',
    figure: 'batch_orgs_per_s',
    value: round(orgIds.length / seconds, 2),
    unit: '1/s',
    extra: {
      run,
      orgs: orgIds.length,
      concurrency,
      seconds: round(seconds, 2),
      medianMs: perStep,
      handoverGapMs: gaps.length ? { median: round(median(gaps)), max: round(Math.max(...gaps)) } : null,
    },
  });
}

async function main() {
  const work = process.env.BENCH_LAB_DIR ? null : await mkdtemp(path.join(tmpdir(), 'orgplane-bench-move-batch-'));
  if (work) await chmod(work, 0o755); // Postgres runs as another OS user
  const dir = work ? path.join(work, 'lab') : path.resolve(/** @type {string} */ (process.env.BENCH_LAB_DIR));
  log(`lab up in ${dir} (${ORGS} orgs, 2 clusters, 1 replica each)`);
  const t0 = performance.now();
  const lab = await labUp({ dir, orgs: ORGS, clusters: 2, replicas: 1 });
  log(`lab up took ${round((performance.now() - t0) / 1000)} s`);
  const api = makeApi(lab.controlPlane.url, lab.controlPlane.token ?? '');
  try {
    for (let run = 1; run <= RUNS; run++) await batchRun(api, run);
  } finally {
    if (work) {
      await labDown({ dir, purge: true });
      await rm(work, { recursive: true, force: true });
    } else {
      log(`lab kept in ${dir}`);
    }
  }
}

await main();
