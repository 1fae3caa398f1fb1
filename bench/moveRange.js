// @ts-check
// bench:move's range figures (issue 13): a whole shard-map range moved as one range move
// (POST /v1/moves {range, to, copyStreams, readFrom}), on the lab's primary-3 topped up to
// `sourceOrgs` orgs (ids from its block's first org on, seeded with the lab's own seed),
// into primary-1. See move.js for the figures and their environment.
//
// The run, in order (each range move with graceSeconds 0, so that it completes and the
// next one finds its target empty of the span's rows):
//   seed -> split the top 10 % and the 1 % below into ranges -> psql baseline of the 10 %
//   -> idle writer -> 10 % there (read from the replica) and back (from the primary)
//   -> 1 % there and back -> a per-org batch of a sample of the same 10 % orgs.
// Moving back leaves the lab as it was (split ranges aside), so a kept lab runs again;
// the per-org batch is rolled back for the same reason when the lab is kept.
// Everything up to the first range move, and the per-org batch, works on a control
// plane without range moves: the figures that need them are printed with value null.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { orgBlocks, orgShape, seedOrgs } from '../cli/dist/lab/index.js';
import { median, percentile, percentileLabel, summary } from './lib.js';
import { eventAt, query, toPerf, waitFor } from './moveApi.js';
import { latencySummary, psqlBaseline, startOpenLoopWriter, TENANT_TABLES, writeBlock } from './moveLib.js';
import { postmasterPid, startCpuSampler } from './procCpu.js';

/** @typedef {import('./moveApi.js').Api} Api */
/** @typedef {import('./moveApi.js').Json} Json */
/** @typedef {{ lo: number, hi: number }} Span */

const SOURCE = 'primary-3';
const TARGET = 'primary-1';
const BIG_PERCENT = 10;
const SMALL_PERCENT = 1;
const EXTRAPOLATE_TO_ORGS = 100_000;
/** The lab's own limit; it also keeps the block clear of move.js's big org 5,000,000. */
const MAX_SOURCE_ORGS = 1_000_000;
const LONG_GRACE_S = 604_800;
const MOVE_TIMEOUT_MS = 4 * 3600_000; // a 1 M-org lab's 10 % is minutes, not hours; this only catches a stuck move

/**
 * @typedef {object} RangeOptions
 * @property {Api} api
 * @property {string} labDir
 * @property {import('../cli/dist/lab/index.js').LabUpResult} lab
 * @property {number} labOrgs orgs the lab seeded over all its clusters
 * @property {number} sourceOrgs orgs of the source cluster's block the figures run on
 * @property {number} orgBaseline orgs of the per-org sample
 * @property {number} writesPerS
 * @property {number} copyStreams 0: the API's default
 * @property {number} batchConcurrency 0: the API's default
 * @property {boolean} keepLab
 * @property {(figure: string, value: number | null, unit: string, baseline?: number | null, extra?: Record<string, unknown>) => void} emit
 * @property {(line: string) => void} log
 */

const round = (/** @type {number} */ x, digits = 1) => Number(x.toFixed(digits));
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const spanText = (/** @type {Span} */ s) => `${s.lo}-${s.hi}`;

/** The URLs and data dirs of a lab cluster's primary and first replica. @param {RangeOptions} o @param {string} id */
function serversOf(o, id) {
  const c = o.lab.clusters.find((x) => x.id === id);
  const replica = c?.replicas[0];
  if (!c || !replica) throw new Error(`the lab has no cluster ${id} with a replica`);
  // The lab keeps each server's data dir at <lab>/<server id>/data (cli/src/lab/state.ts).
  return {
    primary: c.primary.url,
    replica: replica.url,
    primaryPid: () => postmasterPid(path.join(o.labDir, id, 'data')),
    replicaPid: () => postmasterPid(path.join(o.labDir, replica.id, 'data')),
  };
}

/** Does this control plane take range moves (and rebalance)? Read off its OpenAPI document, which changes nothing. @param {Api} api */
async function rangeApi(api) {
  const doc = await api('GET', '/v1/openapi.json');
  const props = doc.paths?.['/v1/moves']?.post?.requestBody?.content?.['application/json']?.schema?.properties ?? {};
  return { moves: 'copyStreams' in props && 'readFrom' in props, rebalance: Boolean(doc.paths?.['/v1/shard-map/rebalance']?.post) };
}

/** Every range of the map that overlaps [lo, hi] must be on `clusterId`: a kept lab left half-moved is refused. @param {Api} api @param {Span} span @param {string} clusterId */
async function assertSpanOn(api, span, clusterId) {
  const map = await api('GET', '/v1/shard-map');
  const off = map.ranges.filter((/** @type {Json} */ r) => r.hi >= span.lo && r.lo <= span.hi && r.clusterId !== clusterId);
  if (off.length > 0)
    throw new Error(
      `orgs ${spanText(span)} should be on ${clusterId}, but the map routes ${off.map((/** @type {Json} */ r) => `${r.lo}-${r.hi} to ${r.clusterId}`).join(', ')}: purge the lab (orgplane lab down --purge) or use a fresh one`,
    );
}

/** Splits the map so that a range starts at each of `ats` (where none does yet). @param {Api} api @param {number[]} ats */
async function splitAt(api, ats) {
  for (const at of ats) {
    const map = await api('GET', '/v1/shard-map');
    if (map.ranges.some((/** @type {Json} */ r) => r.lo === at)) continue;
    await api('POST', '/v1/shard-map/split', { at, reason: 'bench:move range' });
  }
}

/**
 * Seeds the source's block up to `last` with the lab's own seed (the same rows `lab up`
 * would have made), timed. Null when nothing was missing.
 * @param {RangeOptions} o @param {string} url @param {number} first @param {number} last
 */
async function topUp(o, url, first, last) {
  const [{ max }] = await query(url, 'SELECT max(org_id)::bigint AS max FROM organizations WHERE org_id BETWEEN $1 AND $2', [first, last]);
  const from = max === null ? first : Number(max) + 1;
  if (from > last) return null;
  o.log(`seeding orgs ${from}..${last} on ${SOURCE}`);
  const t0 = performance.now();
  let lastNote = t0;
  await seedOrgs(url, from, last, {
    onBatch: (through) => {
      if (performance.now() - lastNote < 30_000) return;
      lastNote = performance.now();
      o.log(`seeded through org ${through} (${round((lastNote - t0) / 1000)} s)`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const [{ bytes }] = await query(url, 'SELECT pg_database_size(current_database())::bigint AS bytes');
  return { orgs: last - from + 1, seconds, databaseBytes: Number(bytes) };
}

/** Waits until every replica of the primary at `url` has replayed to within 1 MiB (the mover pauses its copy while they lag). @param {string} url */
async function waitReplayed(url, timeoutMs = 30 * 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ lag }] = await query(
      url,
      'SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint AS lag FROM pg_stat_replication',
    );
    if (Number(lag) <= 1 << 20) return;
    if (Date.now() > deadline) throw new Error(`the replicas of ${SOURCE} still lag ${lag} bytes`);
    await sleep(1000);
  }
}

/** Org ids pinned anywhere: a range move leaves them alone, so the writers and the sample skip them. @param {Api} api */
async function pinnedOrgIds(api) {
  /** @type {Set<number>} */
  const pinned = new Set();
  let after = -1;
  for (;;) {
    const page = await api('GET', `/v1/placements?limit=10000${after >= 0 ? `&after=${after}` : ''}`);
    for (const p of page.placements) pinned.add(p.orgId);
    if (page.placements.length < 10_000) return pinned;
    after = page.placements[page.placements.length - 1].orgId;
  }
}

/** The org ids of a span on a cluster, ascending. @param {string} url @param {Span} span */
async function orgIdsOn(url, span) {
  const rows = await query(url, 'SELECT org_id::bigint AS id FROM organizations WHERE org_id BETWEEN $1 AND $2 ORDER BY org_id', [
    span.lo,
    span.hi,
  ]);
  return rows.map((r) => Number(r.id));
}

/**
 * The open-loop writer over a span's orgs (a random org per write), following the span
 * as the runtime follows the map: on OPF02 it asks where that org lives now, and since a
 * range moves as one, the answer holds for every org of it.
 * @param {RangeOptions} o @param {Record<string, string>} primaries @param {number[]} orgIds @param {string} clusterId
 */
function rangeWriter(o, primaries, orgIds, clusterId) {
  let current = clusterId;
  /** @type {Promise<void> | null} */
  let asking = null;
  return startOpenLoopWriter({
    orgs: orgIds.map((orgId) => ({ orgId, idMax: Math.max(1, orgShape(orgId).guests) })),
    ownerUrl: () => /** @type {string} */ (primaries[current]),
    onMoved: (orgId) => {
      asking ??= o
        .api('GET', `/v1/orgs/${orgId}/location`)
        .then((loc) => {
          current = loc.clusterId;
        })
        .finally(() => {
          asking = null;
        });
      return asking;
    },
    ratePerSec: o.writesPerS,
    table: 'guests',
    idColumn: 'guest_id',
    setClause: `full_name = 'Guest written at ' || clock_timestamp()`,
  });
}

/**
 * One range move, created to completed, under the writer (when writesPerS > 0), with the
 * CPU of both clusters' primaries and replicas sampled throughout.
 * @param {RangeOptions} o
 * @param {{ span: Span, from: string, to: string, readFrom: 'replica' | 'primary', orgIds: number[], size: string }} m
 */
async function rangeMove(o, m) {
  const from = serversOf(o, m.from);
  const to = serversOf(o, m.to);
  const primaries = { [m.from]: from.primary, [m.to]: to.primary };
  const sampler = startCpuSampler({
    sourcePrimary: from.primaryPid(),
    sourceReplica: from.replicaPid(),
    targetPrimary: to.primaryPid(),
  });
  let writer = o.writesPerS > 0 && m.orgIds.length > 0 ? rangeWriter(o, primaries, m.orgIds, m.from) : null;
  let sampling = true;
  o.log(`range ${spanText(m.span)} (${m.orgIds.length} orgs) ${m.from} -> ${m.to}, read from the ${m.readFrom}`);
  try {
    const created = await o.api('POST', '/v1/moves', {
      range: m.span,
      from: m.from,
      to: m.to,
      readFrom: m.readFrom,
      ...(o.copyStreams ? { copyStreams: o.copyStreams } : {}),
      graceSeconds: 0,
      reason: `bench:move range ${m.size}`,
    });
    const id = created.moves[0].id;
    const flipped = await waitFor(o.api, id, ['flipped', 'completing', 'completed'], MOVE_TIMEOUT_MS);
    // Keep writing a moment after the flip: stragglers hit OPF02 and follow the range.
    await sleep(200);
    const stopped = writer ? await writer.stop() : null;
    writer = null;
    const done = await waitFor(o.api, id, ['completed'], MOVE_TIMEOUT_MS);
    await sampler.stop();
    sampling = false;
    const copyFrom = toPerf(eventAt(done, 'copying'));
    const copyTo = toPerf(eventAt(done, 'catching_up'));
    const copySeconds = (copyTo - copyFrom) / 1000;
    const rows = done.progress.rowsCopied;
    const block = stopped ? writeBlock(stopped.records, toPerf(eventAt(done, 'cutting_over')), toPerf(Date.parse(done.flippedAt))) : null;
    const result = {
      size: m.size,
      range: m.span,
      orgs: m.orgIds.length,
      pinnedOrgs: done.pinnedOrgs ?? null,
      from: m.from,
      to: m.to,
      readFrom: done.readFrom ?? m.readFrom,
      copyStreams: done.copyStreams ?? null,
      totalSeconds: round((Date.parse(done.flippedAt) - Date.parse(done.createdAt)) / 1000, 2),
      completeSeconds: round((Date.parse(done.completedAt) - Date.parse(done.flippedAt)) / 1000, 2),
      copySeconds: round(copySeconds, 2),
      rows,
      rowsPerS: Math.round(rows / copySeconds),
      cpuSeconds: {
        sourcePrimary: round(sampler.cpuBetween('sourcePrimary', copyFrom, copyTo), 2),
        sourceReplica: round(sampler.cpuBetween('sourceReplica', copyFrom, copyTo), 2),
        targetPrimary: round(sampler.cpuBetween('targetPrimary', copyFrom, copyTo), 2),
      },
      lastFenceMs: done.progress.lastFenceMs ?? flipped.progress.lastFenceMs ?? null,
      writeBlockMs: block ? round(block.maxWaitMs) : null,
      writesInCutover: block?.writes ?? 0,
      writesFailedInCutover: block?.failed ?? 0,
      writes: stopped ? { ...latencySummary(stopped.records), due: stopped.due, dropped: stopped.dropped } : null,
    };
    o.log(
      `  ${result.totalSeconds} s to flip, copy ${result.rowsPerS} rows/s, source primary ${result.cpuSeconds.sourcePrimary} CPU s, fence ${result.lastFenceMs} ms, longest write ${result.writeBlockMs} ms`,
    );
    // The completed move deleted the source's rows: the next move into it starts clean.
    await query(from.primary, 'VACUUM ANALYZE');
    return result;
  } finally {
    // A move that failed leaves the writer and the sampler running: stop them before the error goes up.
    await writer?.stop();
    if (sampling) await sampler.stop();
  }
}

/**
 * The per-org path on a sample of the same orgs: POST /v1/moves {orgIds} until every move
 * flipped; rolled back afterwards on a kept lab (the orgs keep no pins into the target).
 * @param {RangeOptions} o @param {number[]} sample
 */
async function perOrgBatch(o, sample) {
  o.log(`per-org batch of ${sample.length} orgs ${SOURCE} -> ${TARGET}`);
  const t0 = performance.now();
  const created = await o.api('POST', '/v1/moves', {
    orgIds: sample,
    from: SOURCE,
    to: TARGET,
    graceSeconds: LONG_GRACE_S,
    reason: 'bench:move range per-org baseline',
    ...(o.batchConcurrency ? { concurrency: o.batchConcurrency } : {}),
  });
  await waitBatch(o.api, created.batch.id, 'flipped', created.moves.length);
  const seconds = (performance.now() - t0) / 1000;
  o.log(`  ${round(seconds)} s (${round(sample.length / seconds, 2)} orgs/s)`);
  if (o.keepLab) {
    for (const mv of created.moves)
      await o.api('POST', `/v1/moves/${mv.id}/rollback`, { reason: 'bench:move: leave the kept lab as it was' });
    await waitBatch(o.api, created.batch.id, 'rolled_back', created.moves.length);
  }
  return {
    orgs: sample.length,
    seconds: round(seconds, 2),
    orgsPerS: round(sample.length / seconds, 2),
    concurrency: created.batch.concurrency,
  };
}

/** @param {Api} api @param {string} batchId @param {string} state @param {number} total */
async function waitBatch(api, batchId, state, total) {
  for (;;) {
    const b = await api('GET', `/v1/move-batches/${batchId}`);
    const bad = ['failed', 'aborted', ...(state === 'rolled_back' ? [] : ['rolled_back'])].reduce((n, s) => n + (b.counts?.[s] ?? 0), 0);
    if (bad > 0) throw new Error(`batch ${batchId}: ${JSON.stringify(b.counts)}`);
    if ((b.counts?.[state] ?? 0) === total) return;
    await sleep(500);
  }
}

/** `count` ids spread evenly over `ids`. @param {number[]} ids @param {number} count */
const spread = (ids, count) =>
  ids.length <= count
    ? [...ids]
    : Array.from({ length: count }, (_, i) => /** @type {number} */ (ids[Math.floor((i * ids.length) / count)]));

/** @param {RangeOptions} o */
export async function rangeFigures(o) {
  const src = serversOf(o, SOURCE);
  const dst = serversOf(o, TARGET);
  const block = orgBlocks(o.labOrgs, o.lab.clusters.length).find((b) => b.clusterId === SOURCE);
  if (!block?.firstOrg) throw new Error(`the lab seeded no orgs on ${SOURCE}`);
  if (o.sourceOrgs < 1 || o.sourceOrgs > MAX_SOURCE_ORGS)
    throw new Error(`BENCH_RANGE_ORGS must be 1..${MAX_SOURCE_ORGS}, not ${o.sourceOrgs}`);
  const first = block.firstOrg;
  const last = first + o.sourceOrgs - 1;
  if (last > block.hi) throw new Error(`orgs ${first}..${last} do not fit ${SOURCE}'s range ${block.lo}-${block.hi}`);
  await assertSpanOn(o.api, { lo: first, hi: last }, SOURCE);
  const api = await rangeApi(o.api);

  // 1. The source cluster's block, topped up to sourceOrgs orgs.
  const seeded = await topUp(o, src.primary, first, last);
  if (seeded) {
    o.log(`seeded ${seeded.orgs} orgs in ${round(seeded.seconds)} s; ${SOURCE} is ${round(seeded.databaseBytes / 2 ** 30, 2)} GiB`);
    o.emit('range_lab_seed_s', round(seeded.seconds), 's', null, {
      orgs: seeded.orgs,
      orgsPerS: Math.round(seeded.orgs / seeded.seconds),
      cluster: SOURCE,
      sourceDatabaseGiB: round(seeded.databaseBytes / 2 ** 30, 2),
      how: "the lab's seedOrgs (INSERT ... SELECT generate_series, 20,000 orgs a statement); its replica streams the WAL",
    });
  }
  const waitT0 = performance.now();
  await waitReplayed(src.primary);
  o.log(`replicas of ${SOURCE} replayed (${round((performance.now() - waitT0) / 1000)} s)`);

  // 2. The top 10 % of the block's org ids, and the 1 % below them, as ranges of their own.
  const ids = await orgIdsOn(src.primary, { lo: first, hi: last });
  const nBig = Math.ceil((ids.length * BIG_PERCENT) / 100);
  const nSmall = Math.ceil((ids.length * SMALL_PERCENT) / 100);
  if (ids.length < nBig + nSmall + 1) throw new Error(`${SOURCE} holds only ${ids.length} orgs of ${first}..${last}`);
  const big = { lo: /** @type {number} */ (ids[ids.length - nBig]), hi: /** @type {number} */ (ids[ids.length - 1]) };
  const small = { lo: /** @type {number} */ (ids[ids.length - nBig - nSmall]), hi: big.lo - 1 };
  let rebalanceDryRun = null;
  if (api.rebalance) {
    // Only beside the figures (its estimate against the measured time): a refusal must not stop the run.
    try {
      const { plan: p } = await o.api('POST', '/v1/shard-map/rebalance', { from: SOURCE, to: TARGET, percent: BIG_PERCENT, dryRun: true });
      rebalanceDryRun = { orgs: p.orgs, rows: p.rows, ranges: p.ranges, estimatedSeconds: p.estimatedSeconds, rateBasis: p.rateBasis };
    } catch (err) {
      rebalanceDryRun = { error: /** @type {Error} */ (err).message };
    }
  }
  await splitAt(o.api, [small.lo, big.lo, big.hi + 1]);
  const pinned = await pinnedOrgIds(o.api);
  const unpinned = (/** @type {Span} */ s) => ids.filter((id) => id >= s.lo && id <= s.hi && !pinned.has(id));
  const bigOrgs = unpinned(big);
  const smallOrgs = unpinned(small);
  o.log(`ranges ${spanText(big)} (${bigOrgs.length} orgs) and ${spanText(small)} (${smallOrgs.length} orgs) of ${ids.length}`);

  // 3. The psql pipe of the same rows, with the source's CPU beside it.
  for (const t of TENANT_TABLES) await query(src.primary, `SELECT count(*) FROM ${t} WHERE org_id BETWEEN $1 AND $2`, [big.lo, big.hi]);
  const psqlCpu = startCpuSampler({ sourcePrimary: src.primaryPid() });
  const p0 = performance.now();
  const psql = await psqlBaseline(src.primary, dst.primary, { range: big }, 'binary');
  const p1 = performance.now();
  await psqlCpu.stop();
  const psqlRowsPerS = Math.round(psql.rows / psql.seconds);
  const psqlSourceCpuS = round(psqlCpu.cpuBetween('sourcePrimary', p0, p1), 2);
  o.log(`psql binary pipe: ${psql.rows} rows in ${round(psql.seconds, 2)} s (${psqlRowsPerS} rows/s), source ${psqlSourceCpuS} CPU s`);

  // 4. The writer's latency with no move running, same orgs, same rate.
  let idle = null;
  if (o.writesPerS > 0) {
    const w = rangeWriter(o, { [SOURCE]: src.primary }, bigOrgs, SOURCE);
    await sleep(3000);
    idle = latencySummary((await w.stop()).records);
    o.log(`idle writer over ${bigOrgs.length} orgs: p99 ${idle.p99} ms`);
  }

  // 5. The range moves: 10 % there (replica) and back (primary), 1 % the same.
  /** @type {Awaited<ReturnType<typeof rangeMove>>[]} */
  const moves = [];
  if (api.moves) {
    const pair = async (/** @type {Span} */ span, /** @type {number[]} */ orgIds, /** @type {string} */ size) => {
      moves.push(await rangeMove(o, { span, from: SOURCE, to: TARGET, readFrom: 'replica', orgIds, size }));
      moves.push(await rangeMove(o, { span, from: TARGET, to: SOURCE, readFrom: 'primary', orgIds, size }));
    };
    await pair(big, bigOrgs, `${BIG_PERCENT}pct`);
    await pair(small, smallOrgs, `${SMALL_PERCENT}pct`);
  } else {
    o.log(
      'this control plane takes no range moves (POST /v1/moves has no copyStreams/readFrom): their figures are printed with value null',
    );
  }

  // 6. The per-org path on a sample of the same 10 %.
  const perOrg = await perOrgBatch(o, spread(bigOrgs, o.orgBaseline));
  const perOrgSeconds = (/** @type {number} */ orgs) => round((perOrg.seconds * orgs) / perOrg.orgs);
  emitFigures(o, {
    api,
    big,
    bigOrgs,
    ids,
    moves,
    psql: { ...psql, rowsPerS: psqlRowsPerS, sourceCpuS: psqlSourceCpuS },
    idle,
    perOrg,
    perOrgSeconds,
    rebalanceDryRun,
  });
  if (!api.moves) throw new Error('range moves are not in this control plane yet: the range-move figures are null');
}

/**
 * @param {RangeOptions} o
 * @param {{
 *   api: { moves: boolean, rebalance: boolean },
 *   big: Span, bigOrgs: number[], ids: number[],
 *   moves: Awaited<ReturnType<typeof rangeMove>>[],
 *   psql: { rows: number, seconds: number, rowsPerS: number, sourceCpuS: number },
 *   idle: ReturnType<typeof latencySummary> | null,
 *   perOrg: Awaited<ReturnType<typeof perOrgBatch>>,
 *   perOrgSeconds: (orgs: number) => number,
 *   rebalanceDryRun: Json,
 * }} r
 */
function emitFigures(o, r) {
  const missing = r.api.moves
    ? {}
    : { unavailable: 'range moves are not in this control plane (POST /v1/moves {range, copyStreams, readFrom})' };
  const there = r.moves[0] ?? null; // 10 %, read from the source's replica
  const back = r.moves[1] ?? null; // the same range back, read from the primary
  const small = r.moves.slice(2);
  const perOrgIs = `per-org batch (POST /v1/moves {orgIds}) of ${r.perOrg.orgs} of the same orgs, spread over the range, in ${r.perOrg.seconds} s at concurrency ${r.perOrg.concurrency} (${r.perOrg.orgsPerS} orgs/s), extrapolated linearly`;
  const orgsMoved = there?.orgs ?? r.bigOrgs.length;
  o.emit(`range_move_${BIG_PERCENT}pct_s`, there?.totalSeconds ?? null, 's', r.perOrgSeconds(orgsMoved), {
    what: `${BIG_PERCENT} % of ${SOURCE}'s ${r.ids.length} orgs (${spanText(r.big)}) as one range move, created -> flipped`,
    baselineIs: `${perOrgIs} to ${orgsMoved} orgs`,
    orgs: orgsMoved,
    pinnedOrgs: there?.pinnedOrgs ?? null,
    rows: there?.rows ?? r.psql.rows,
    readFrom: there?.readFrom ?? null,
    copyStreams: there?.copyStreams ?? null,
    completeSeconds: there?.completeSeconds ?? null,
    movedBackSeconds: back?.totalSeconds ?? null,
    perOrgSample: r.perOrg,
    rebalanceDryRun: r.rebalanceDryRun,
    ...missing,
  });
  o.emit('range_copy_rows_per_s', there?.rowsPerS ?? null, '1/s', r.psql.rowsPerS, {
    what: "rows copied / the range move's copy phase (its copying event to its catching_up event)",
    baselineIs:
      'one psql COPY (SELECT ... WHERE org_id BETWEEN lo AND hi) TO STDOUT (FORMAT binary) | psql COPY ... FROM STDIN, table by table, ANALYZE after each, into the same target tables',
    target: '>= 1.5 x',
    rows: there?.rows ?? null,
    copySeconds: there?.copySeconds ?? null,
    readFrom: there?.readFrom ?? null,
    copyStreams: there?.copyStreams ?? null,
    movedBackFromPrimaryRowsPerS: back?.rowsPerS ?? null,
    psql: { rows: r.psql.rows, seconds: round(r.psql.seconds, 2) },
    writesPerSDuringMove: o.writesPerS,
    ...missing,
  });
  o.emit('range_copy_source_cpu_s', there?.cpuSeconds.sourcePrimary ?? null, 's', back?.cpuSeconds.sourcePrimary ?? null, {
    what: "CPU seconds (utime+stime of the postmaster and its children, /proc) of the move's source primary during its copy phase",
    valueIs: `readFrom 'replica': ${SOURCE} -> ${TARGET}`,
    baselineIs: `readFrom 'primary': the same range moved back, ${TARGET} -> ${SOURCE} (same rows, same-shaped cluster)`,
    replicaRead: there ? { source: there.from, copySeconds: there.copySeconds, ...there.cpuSeconds } : null,
    primaryRead: back ? { source: back.from, copySeconds: back.copySeconds, ...back.cpuSeconds } : null,
    smallRange: small.map((m) => ({ readFrom: m.readFrom, source: m.from, copySeconds: m.copySeconds, ...m.cpuSeconds })),
    psqlPipeSourcePrimaryCpuS: r.psql.sourceCpuS,
    writesPerSDuringMove: o.writesPerS,
    ...missing,
  });
  const withWriter = r.moves.filter((m) => m.writeBlockMs !== null);
  const blocks = withWriter.map((m) => /** @type {number} */ (m.writeBlockMs));
  const label = percentileLabel(99, blocks.length);
  /** @param {(m: Awaited<ReturnType<typeof rangeMove>>) => number | null} pick */
  const bySize = (pick) =>
    Object.fromEntries(
      [`${BIG_PERCENT}pct`, `${SMALL_PERCENT}pct`].map((size) => [size, withWriter.filter((m) => m.size === size).map(pick)]),
    );
  const medianOf = (/** @type {string} */ size) =>
    median(withWriter.filter((m) => m.size === size).map((m) => /** @type {number} */ (m.writeBlockMs)));
  o.emit(
    `range_fence_${blocks.length ? label : 'p99'}_ms`,
    blocks.length ? round(percentile(blocks, 99)) : null,
    'ms',
    r.idle?.p99 ?? null,
    {
      what: `per range move, the longest any write waited (ack or give-up minus due time) from its first cutting_over event to the flip, ${o.writesPerS} writes/s over the range's orgs`,
      baselineIs: 'p99 write latency of the same writer with no move running',
      target: '< 250 ms, flat in the size of the range',
      writeBlockMsBySize: bySize((m) => m.writeBlockMs),
      lastFenceMsBySize: bySize((m) => m.lastFenceMs),
      orgsBySize: bySize((m) => m.orgs),
      tenToOneRatio: withWriter.length ? round(medianOf(`${BIG_PERCENT}pct`) / medianOf(`${SMALL_PERCENT}pct`), 2) : null,
      writesFailedInCutovers: withWriter.reduce((n, m) => n + m.writesFailedInCutover, 0),
      writesFailed: withWriter.reduce((n, m) => n + (m.writes?.failed ?? 0), 0),
      writesDropped: withWriter.reduce((n, m) => n + (m.writes?.dropped ?? 0), 0),
      ...(o.writesPerS > 0 ? missing : { unavailable: 'BENCH_WRITES_PER_S=0' }),
    },
  );
  const fences = r.moves.map((m) => m.lastFenceMs).filter((x) => typeof x === 'number');
  o.emit(
    `range_fence_window_recorded_${fences.length ? percentileLabel(99, fences.length) : 'p99'}_ms`,
    fences.length ? round(percentile(fences, 99)) : null,
    'ms',
    null,
    {
      what: "the range moves' recorded fence windows (lastFenceMs: lock granted to release, the attempt that flipped)",
      ...(fences.length ? { perMove: summary(fences) } : {}),
      ...missing,
    },
  );
  const scale = EXTRAPOLATE_TO_ORGS / orgsMoved;
  o.emit(
    'range_move_extrapolated_100k_orgs_s',
    there ? round(there.totalSeconds * scale) : null,
    's',
    r.perOrgSeconds(EXTRAPOLATE_TO_ORGS),
    {
      what: `range_move_${BIG_PERCENT}pct_s scaled linearly from ${orgsMoved} to ${EXTRAPOLATE_TO_ORGS} orgs`,
      labOrgsPerSourceCluster: r.ids.length,
      measuredOrgs: orgsMoved,
      measuredSeconds: there?.totalSeconds ?? null,
      baselineIs: `${perOrgIs} to ${EXTRAPOLATE_TO_ORGS} orgs`,
      targetSeconds: 1800,
      ...missing,
    },
  );
}
