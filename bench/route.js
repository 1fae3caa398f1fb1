// @ts-check
// bench:route — Router.route against the linear baseline a user would write (a
// `Map<number, string>` of pins, then `ranges.find`), 10 ranges + 1 M pins, same ids,
// same run, rounds alternating the two; and the memory of the pins in both.
//
// The pin table holds more than the baseline's Map: each pin's placement state (active,
// fenced, ...) and epoch besides its cluster, so that `runtime.placement(orgId)` and the
// disk cache give back the whole wire placement (a host can see that an org is fenced
// mid-move; the epoch orders changes). The memory figure compares it with the plain
// `Map<number, string>` all the same (what a router needs), and a second figure with a
// Map holding the same fields as objects. Build first: tsc -b runtime.
import { ORG_ID_MAX } from '../runtime/dist/index.js';
import { Router } from '../runtime/dist/router.js';
import { envInt, getGc, median, mulberry32, printFigure, summary } from './lib.js';

const RANGE_COUNT = 10;
const PIN_COUNT = 1_000_000;
const PIN_SPACE = 10_000_000;
const LOOKUP_COUNT = 2_000_000;
const ROUNDS = envInt('BENCH_ROUNDS', 7);
const CLUSTERS = ['primary-1', 'primary-2', 'primary-3'];

const gc = getGc();
const random = mulberry32(20261123);

/** @returns {{ lo: number, hi: number, clusterId: string }[]} */
function buildRanges() {
  const step = Math.floor((ORG_ID_MAX + 1) / RANGE_COUNT);
  return Array.from({ length: RANGE_COUNT }, (_, i) => ({
    lo: i * step,
    hi: i === RANGE_COUNT - 1 ? ORG_ID_MAX : (i + 1) * step - 1,
    clusterId: /** @type {string} */ (CLUSTERS[i % CLUSTERS.length]),
  }));
}

/** PIN_COUNT distinct org ids in 0..PIN_SPACE, with a cluster each. */
function buildPinInputs() {
  const taken = new Uint8Array(PIN_SPACE);
  const orgIds = new Float64Array(PIN_COUNT);
  const clusters = new Uint8Array(PIN_COUNT);
  for (let i = 0; i < PIN_COUNT; ) {
    const orgId = Math.floor(random() * PIN_SPACE);
    if (taken[orgId]) continue;
    taken[orgId] = 1;
    orgIds[i] = orgId;
    clusters[i] = Math.floor(random() * CLUSTERS.length);
    i++;
  }
  return { orgIds, clusters };
}

/** Half pinned ids, half ids anywhere in the id space (nearly all following a range). */
function buildLookups(/** @type {Float64Array} */ pinIds) {
  const ids = new Float64Array(LOOKUP_COUNT);
  for (let i = 0; i < LOOKUP_COUNT; i++) {
    ids[i] = i % 2 === 0 ? /** @type {number} */ (pinIds[Math.floor(random() * pinIds.length)]) : Math.floor(random() * (ORG_ID_MAX + 1));
  }
  return ids;
}

function heapBytes() {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Bytes retained by what `build` returns, measured around a full GC on both sides.
 * @template T
 * @param {() => T} build
 */
function retainedBytes(build) {
  gc();
  gc();
  const before = heapBytes();
  const built = build();
  gc();
  gc();
  return { built, bytes: heapBytes() - before };
}

/**
 * The router a user would write: a `Map<number, string>` of pins, then `ranges.find`,
 * with the same id check as Router.route.
 * @param {readonly { lo: number, hi: number, clusterId: string }[]} ranges
 * @param {ReadonlyMap<number, string>} pins
 * @param {number} orgId
 */
function linearRoute(ranges, pins, orgId) {
  if (!Number.isSafeInteger(orgId) || orgId < 0) throw new Error(`invalid org id ${orgId}`);
  const pinned = pins.get(orgId);
  if (pinned !== undefined) return pinned;
  const range = ranges.find((r) => r.lo <= orgId && orgId <= r.hi);
  if (range === undefined) throw new Error(`no route for ${orgId}`);
  return range.clusterId;
}

// The checksum depends on every answer, so V8 cannot drop the loops.
/** @param {Router} router @param {Float64Array} ids */
function runRouter(router, ids) {
  let checksum = 0;
  for (let i = 0; i < ids.length; i++) {
    const clusterId = router.route(/** @type {number} */ (ids[i]));
    checksum = (checksum + clusterId.charCodeAt(clusterId.length - 1)) | 0;
  }
  return checksum;
}

/** @param {readonly { lo: number, hi: number, clusterId: string }[]} ranges @param {ReadonlyMap<number, string>} pins @param {Float64Array} ids */
function runLinear(ranges, pins, ids) {
  let checksum = 0;
  for (let i = 0; i < ids.length; i++) {
    const clusterId = linearRoute(ranges, pins, /** @type {number} */ (ids[i]));
    checksum = (checksum + clusterId.charCodeAt(clusterId.length - 1)) | 0;
  }
  return checksum;
}

/** Nanoseconds per lookup of one pass over `ids`, and its checksum. @param {(ids: Float64Array) => number} run @param {Float64Array} ids */
function timePass(run, ids) {
  const start = process.hrtime.bigint();
  const checksum = run(ids);
  return { ns: Number(process.hrtime.bigint() - start) / ids.length, checksum };
}

const ranges = buildRanges();
const pinInputs = buildPinInputs();
const ids = buildLookups(pinInputs.orgIds);
const clusterOf = (/** @type {number} */ i) => /** @type {string} */ (CLUSTERS[/** @type {number} */ (pinInputs.clusters[i])]);

const { built: router, bytes: routerBytes } = retainedBytes(() => {
  const r = new Router();
  r.setRanges(ranges);
  for (let i = 0; i < PIN_COUNT; i++) r.pin(/** @type {number} */ (pinInputs.orgIds[i]), clusterOf(i), 'active', 1);
  return r;
});
const { built: pinMap, bytes: mapBytes } = retainedBytes(() => {
  /** @type {Map<number, string>} */
  const m = new Map();
  for (let i = 0; i < PIN_COUNT; i++) m.set(/** @type {number} */ (pinInputs.orgIds[i]), clusterOf(i));
  return m;
});
// The same fields as the pin table (cluster, state, epoch) in a Map of objects.
const { built: placementMap, bytes: placementMapBytes } = retainedBytes(() => {
  const m = new Map();
  for (let i = 0; i < PIN_COUNT; i++) {
    const orgId = /** @type {number} */ (pinInputs.orgIds[i]);
    m.set(orgId, { orgId, clusterId: clusterOf(i), state: 'active', epoch: 1 });
  }
  return m;
});
if (router.pinCount !== PIN_COUNT || pinMap.size !== PIN_COUNT || placementMap.size !== PIN_COUNT) throw new Error('pin count mismatch');
placementMap.clear();

const routerRun = (/** @type {Float64Array} */ lookupIds) => runRouter(router, lookupIds);
const linearRun = (/** @type {Float64Array} */ lookupIds) => runLinear(ranges, pinMap, lookupIds);
// Warm-up: let both reach their optimised code before measuring.
for (let i = 0; i < 3; i++) {
  routerRun(ids);
  linearRun(ids);
}
// Rounds alternate the two, so both see the same load on a shared machine.
/** @type {number[]} */
const routerNs = [];
/** @type {number[]} */
const linearNs = [];
/** @type {number | null} */
let checksum = null;
for (let round = 0; round < ROUNDS; round++) {
  for (const [run, out] of /** @type {const} */ ([
    [routerRun, routerNs],
    [linearRun, linearNs],
  ])) {
    const pass = timePass(run, ids);
    if (checksum !== null && pass.checksum !== checksum)
      throw new Error('Router and the Map router disagree, or a round changed its answers');
    checksum = pass.checksum;
    out.push(pass.ns);
  }
}

const routerRate = 1e9 / median(routerNs);
const linearRate = 1e9 / median(linearNs);
printFigure({
  bench: 'route',
  figure: 'lookups_per_s',
  value: Math.round(routerRate),
  unit: '1/s',
  baseline: Math.round(linearRate),
  extra: {
    baselineIs: 'Map<number, string> of pins, then ranges.find',
    nsPerLookup: summary(routerNs, 2),
    baselineNsPerLookup: summary(linearNs, 2),
  },
});
const mb = (/** @type {number} */ bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
printFigure({
  bench: 'route',
  figure: 'pins_memory_mb',
  value: mb(routerBytes),
  unit: 'MB',
  baseline: mb(mapBytes),
  extra: {
    baselineIs: 'Map<number, string> (cluster id only)',
    pinTableHolds: 'cluster index, placement state and epoch per pin, at a load factor <= 0.5',
  },
});
printFigure({
  bench: 'route',
  figure: 'pins_memory_mb_vs_map_of_placements',
  value: mb(routerBytes),
  unit: 'MB',
  baseline: mb(placementMapBytes),
  extra: { baselineIs: 'Map<number, {orgId, clusterId, state, epoch}> (the same fields as the pin table)' },
});
