// bench:flags — runtime.isEnabled against unleash-client's isEnabled on the same flags:
// 10 rollouts (one with a 1,000-org pilot), random org ids, same run. The runtime gets
// its config from a tiny local server speaking the watch protocol; unleash-client runs
// offline from a bootstrap. Build first: tsc -b runtime.
import { createServer } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { createRuntime } from '../runtime/dist/index.js';
import { getGc, median, mulberry32, printFigure } from './lib.js';

const ORG_SPACE = 10_000_000;
const ID_COUNT = 1 << 20;
const ROUNDS = 7;
const RUNTIME_CALLS = 2_000_000;
const UNLEASH_CALLS = 200_000;
const ALLOCATION_CALLS = 10_000_000;
const TOKEN = 'bench-token';

const gc = getGc();
const random = mulberry32(20261124);

const pilot = new Set();
while (pilot.size < 1000) pilot.add(Math.floor(random() * ORG_SPACE));
const cohorts = [{ name: 'pilot', orgIds: [...pilot].sort((a, b) => a - b) }];
const percents = [0, 1, 5, 10, 25, 33, 50, 75, 90, 100];
const rollouts = percents.map((percent, i) => ({
  flag: `flag-${i}`,
  groupId: `flag-${i}`,
  enabled: i !== 8,
  percent,
  pilotCohort: i === 0 ? 'pilot' : null,
}));
const flags = rollouts.map((r) => r.flag);

/** The Unleash feature equivalent to a rollout (control-plane/API.md, "Unleash client API"). */
function toUnleash(r) {
  const strategies = [{ name: 'flexibleRollout', parameters: { rollout: String(r.percent), stickiness: 'orgId', groupId: r.groupId } }];
  const cohort = cohorts.find((c) => c.name === r.pilotCohort);
  if (cohort) {
    strategies.push({
      name: 'default',
      parameters: {},
      constraints: [{ contextName: 'orgId', operator: 'IN', values: cohort.orgIds.map(String) }],
    });
  }
  return { name: r.flag, enabled: r.enabled, strategies };
}

/** Serves one snapshot on the watch stream, then stays quiet (heartbeat timeout is long). */
async function startConfigServer() {
  const snapshot = {
    version: 1,
    generatedAt: new Date().toISOString(),
    clusters: [],
    ranges: [],
    placements: [],
    replicas: [],
    rollouts,
    cohorts,
  };
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// Org ids: one in ten a pilot member, so the pilot path is exercised too.
const pilotList = cohorts[0].orgIds;
const ids = new Float64Array(ID_COUNT);
for (let i = 0; i < ID_COUNT; i++) {
  ids[i] = i % 10 === 0 ? pilotList[Math.floor(random() * pilotList.length)] : Math.floor(random() * ORG_SPACE);
}
const idStrings = Array.from(ids, String);

const server = await startConfigServer();
const runtime = createRuntime({ url: `http://127.0.0.1:${server.address().port}`, token: TOKEN, heartbeatTimeoutMs: 3_600_000 });
await runtime.ready(10_000);

const unleash = new Unleash({
  appName: 'orgplane-bench',
  url: 'http://127.0.0.1:9/api/',
  refreshInterval: 0,
  disableMetrics: true,
  bootstrap: { data: rollouts.map(toUnleash) },
  storageProvider: new InMemStorageProvider(),
});
unleash.on('error', () => {});
unleash.on('warn', () => {});
await new Promise((resolve) => unleash.once('ready', resolve));

let sink = 0;

function runRuntime(calls, offset) {
  let on = 0;
  for (let i = 0; i < calls; i++) {
    const j = (i + offset) & (ID_COUNT - 1);
    if (runtime.isEnabled(flags[i % 10], { orgId: ids[j] })) on++;
  }
  return on;
}

/** The same with one context object reused: what a caller does to rule out any allocation. */
const context = { orgId: 0 };
function runRuntimeReused(calls, offset) {
  let on = 0;
  for (let i = 0; i < calls; i++) {
    context.orgId = ids[(i + offset) & (ID_COUNT - 1)];
    if (runtime.isEnabled(flags[i % 10], context)) on++;
  }
  return on;
}

function runUnleash(calls, offset) {
  let on = 0;
  for (let i = 0; i < calls; i++) {
    const j = (i + offset) & (ID_COUNT - 1);
    if (unleash.isEnabled(flags[i % 10], { properties: { orgId: idStrings[j] } })) on++;
  }
  return on;
}

/** Nanoseconds per call, median over rounds (after a warm-up round). */
function measure(run, calls) {
  run(calls, 0);
  const samples = [];
  for (let round = 0; round < ROUNDS; round++) {
    gc();
    const start = process.hrtime.bigint();
    sink += run(calls, round * 7919);
    samples.push(Number(process.hrtime.bigint() - start) / calls);
  }
  return median(samples);
}

// Both decide the same (a benchmark of a wrong answer would be worthless).
let mismatches = 0;
for (let i = 0; i < 200_000; i++) {
  const flag = flags[i % 10];
  const j = i & (ID_COUNT - 1);
  if (runtime.isEnabled(flag, { orgId: ids[j] }) !== unleash.isEnabled(flag, { properties: { orgId: idStrings[j] } })) mismatches++;
}

const runtimeNs = measure(runRuntime, RUNTIME_CALLS);
const unleashNs = measure(runUnleash, UNLEASH_CALLS);

// Allocation: garbage collections and new-space growth over 10 M calls. Objects are born
// in the new space; compiled code and feedback live elsewhere. V8's escape analysis
// removes the `{ orgId }` literal on most calls, not on every one; a reused context
// object allocates nothing.
const newSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_used_size;
async function allocation(run) {
  sink += run(ALLOCATION_CALLS, 0); // once unmeasured: compiling the loop allocates
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  gc();
  observer.observe({ entryTypes: ['gc'] });
  const before = newSpaceUsed();
  sink += run(ALLOCATION_CALLS, 0);
  const grown = newSpaceUsed() - before;
  await new Promise((resolve) => setImmediate(resolve)); // let the observer deliver
  observer.disconnect();
  return { collections, grown };
}
const literal = await allocation(runRuntime);
const reused = await allocation(runRuntimeReused);

printFigure({
  bench: 'flags',
  figure: 'evaluations_per_s',
  value: Math.round(1e9 / runtimeNs),
  unit: '1/s',
  baseline: Math.round(1e9 / unleashNs),
});
printFigure({
  bench: 'flags',
  figure: 'ns_per_call',
  value: Number(runtimeNs.toFixed(1)),
  unit: 'ns',
  baseline: Number(unleashNs.toFixed(1)),
});
printFigure({ bench: 'flags', figure: 'gcs_during_10M_calls', value: literal.collections, unit: 'count' });
printFigure({ bench: 'flags', figure: 'new_space_growth_over_10M_calls', value: literal.grown, unit: 'bytes' });
printFigure({ bench: 'flags', figure: 'new_space_growth_over_10M_calls_reused_context', value: reused.grown, unit: 'bytes' });
printFigure({ bench: 'flags', figure: 'decision_mismatches_vs_unleash', value: mismatches, unit: 'count' });

if (sink === -1) process.stdout.write('');
unleash.destroy();
await runtime.close();
server.closeAllConnections();
server.close();
