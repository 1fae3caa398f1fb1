// bench:route — Router.route against the linear baseline (a Map of pins, then
// ranges.find), 10 ranges + 1 M pins, same ids, same run. Build first: tsc -b runtime.
import { ORG_ID_MAX } from '../runtime/dist/index.js';
import { linearRoute, Router } from '../runtime/dist/router.js';
import { getGc, median, mulberry32, printFigure } from './lib.js';

const RANGE_COUNT = 10;
const PIN_COUNT = 1_000_000;
const PIN_SPACE = 10_000_000;
const LOOKUP_COUNT = 2_000_000;
const ROUNDS = 7;
const CLUSTERS = ['primary-1', 'primary-2', 'primary-3'];

const gc = getGc();
const random = mulberry32(20261123);

function buildRanges() {
  const step = Math.floor((ORG_ID_MAX + 1) / RANGE_COUNT);
  return Array.from({ length: RANGE_COUNT }, (_, i) => ({
    lo: i * step,
    hi: i === RANGE_COUNT - 1 ? ORG_ID_MAX : (i + 1) * step - 1,
    clusterId: CLUSTERS[i % CLUSTERS.length],
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
function buildLookups(pinIds) {
  const ids = new Float64Array(LOOKUP_COUNT);
  for (let i = 0; i < LOOKUP_COUNT; i++) {
    ids[i] = i % 2 === 0 ? pinIds[Math.floor(random() * pinIds.length)] : Math.floor(random() * (ORG_ID_MAX + 1));
  }
  return ids;
}

function heapBytes() {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Bytes retained by what `build` returns, measured around a full GC on both sides. */
function retainedBytes(build) {
  gc();
  gc();
  const before = heapBytes();
  const built = build();
  gc();
  gc();
  return { built, bytes: heapBytes() - before };
}

// The checksum depends on every answer, so V8 cannot drop the loops.
function runRouter(router, ids) {
  let checksum = 0;
  for (let i = 0; i < ids.length; i++) {
    const clusterId = router.route(ids[i]);
    checksum = (checksum + clusterId.charCodeAt(clusterId.length - 1)) | 0;
  }
  return checksum;
}

function runLinear(ranges, pins, ids) {
  let checksum = 0;
  for (let i = 0; i < ids.length; i++) {
    const clusterId = linearRoute(ranges, pins, ids[i]);
    checksum = (checksum + clusterId.charCodeAt(clusterId.length - 1)) | 0;
  }
  return checksum;
}

function lookupsPerSecond(run, ids) {
  const start = process.hrtime.bigint();
  const checksum = run(ids);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rate: ids.length / seconds, checksum };
}

/** Median rate over ROUNDS runs; each run sees a cache warmed by the previous one. */
function measure(run, ids) {
  const rates = [];
  let checksum = null;
  for (let round = 0; round < ROUNDS; round++) {
    const r = lookupsPerSecond(run, ids);
    if (checksum !== null && r.checksum !== checksum) throw new Error('checksum changed between rounds');
    checksum = r.checksum;
    rates.push(r.rate);
  }
  return { rate: median(rates), checksum };
}

const ranges = buildRanges();
const pinInputs = buildPinInputs();
const ids = buildLookups(pinInputs.orgIds);

const { built: router, bytes: routerBytes } = retainedBytes(() => {
  const r = new Router();
  r.setRanges(ranges);
  for (let i = 0; i < PIN_COUNT; i++) r.pin(pinInputs.orgIds[i], CLUSTERS[pinInputs.clusters[i]], 'active', 1);
  return r;
});
const { built: pinMap, bytes: mapBytes } = retainedBytes(() => {
  const m = new Map();
  for (let i = 0; i < PIN_COUNT; i++) {
    const orgId = pinInputs.orgIds[i];
    m.set(orgId, { orgId, clusterId: CLUSTERS[pinInputs.clusters[i]], state: 'active', epoch: 1 });
  }
  return m;
});
if (router.pinCount !== PIN_COUNT || pinMap.size !== PIN_COUNT) throw new Error('pin count mismatch');

const routerRun = (lookupIds) => runRouter(router, lookupIds);
const linearRun = (lookupIds) => runLinear(ranges, pinMap, lookupIds);
// Warm-up: let both reach their optimised code before measuring.
for (let i = 0; i < 3; i++) {
  routerRun(ids);
  linearRun(ids);
}
const fast = measure(routerRun, ids);
const slow = measure(linearRun, ids);
if (fast.checksum !== slow.checksum) throw new Error(`Router and linearRoute disagree (checksum ${fast.checksum} vs ${slow.checksum})`);

printFigure({ bench: 'route', figure: 'lookups_per_s', value: Math.round(fast.rate), unit: '1/s', baseline: Math.round(slow.rate) });
const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
printFigure({ bench: 'route', figure: 'pins_memory_mb', value: mb(routerBytes), unit: 'MB', baseline: mb(mapBytes) });
