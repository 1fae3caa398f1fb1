// @ts-check
// bench:flags — runtime.isEnabled against unleash-client's isEnabled on the same flags,
// in three scenarios, each measured against unleash-client in the same run:
// - plain: 10 percentage rollouts, no pilot (the headline: what most flags are);
// - pilot_20 / pilot_1000: the same 10 rollouts, one of them with a pilot cohort of 20 or
//   1,000 orgs (unleash-client filters, trims and scans an `IN` constraint of that many
//   values on every call to that flag; the runtime does a binary search).
// Each call's flag and org come from independent seeded PRNG streams (no aliasing between
// the flag chosen and the org id); in the pilot scenarios one org in ten is drawn from the
// cohort, and the real share of calls that hit a pilot member of the pilot's own flag is
// printed. Rounds alternate runtime / unleash-client so both see the same load; min and
// median over rounds. Zero mismatches between the two is checked on every scenario.
// The runtime gets its config from a tiny local server speaking the watch protocol;
// unleash-client runs offline from a bootstrap. Build first: tsc -b runtime.
// Env: BENCH_ROUNDS (7), BENCH_RUNTIME_CALLS (2000000), BENCH_UNLEASH_CALLS (200000),
// BENCH_ALLOCATION_CALLS (10000000).
import { createServer } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { createRuntime } from '../runtime/dist/index.js';
import { envInt, getGc, median, mulberry32, note, printFigure, summary } from './lib.js';

const ORG_SPACE = 10_000_000;
const ID_COUNT = 1 << 20;
const ROUNDS = envInt('BENCH_ROUNDS', 7);
const RUNTIME_CALLS = envInt('BENCH_RUNTIME_CALLS', 2_000_000);
const UNLEASH_CALLS = envInt('BENCH_UNLEASH_CALLS', 200_000);
const ALLOCATION_CALLS = envInt('BENCH_ALLOCATION_CALLS', 10_000_000);
/** Share of calls whose org is drawn from the pilot cohort, in the pilot scenarios. */
const PILOT_SHARE = 0.1;
const PILOT_FLAG = 0;
const TOKEN = 'bench-token';
const PERCENTS = [0, 1, 5, 10, 25, 33, 50, 75, 90, 100];
const FLAGS = PERCENTS.map((_, i) => `flag-${i}`);

const gc = getGc();
let sink = 0;

/**
 * @typedef {{ flag: string, groupId: string, enabled: boolean, percent: number, pilotCohort: string | null }} Rollout
 * @typedef {{ name: string, orgIds: number[] }} Cohort
 * @typedef {{ name: string, pilotSize: number }} Scenario
 */

/** @param {number} pilotSize */
function buildConfig(pilotSize) {
  const random = mulberry32(20261124);
  const members = new Set();
  while (members.size < pilotSize) members.add(Math.floor(random() * ORG_SPACE));
  /** @type {Cohort[]} */
  const cohorts = pilotSize > 0 ? [{ name: 'pilot', orgIds: [...members].sort((a, b) => a - b) }] : [];
  /** @type {Rollout[]} */
  const rollouts = PERCENTS.map((percent, i) => ({
    flag: `flag-${i}`,
    groupId: `flag-${i}`,
    enabled: i !== 8,
    percent,
    pilotCohort: i === PILOT_FLAG && pilotSize > 0 ? 'pilot' : null,
  }));
  return { rollouts, cohorts };
}

/**
 * The call stream: flag indexes from one PRNG stream, org ids from another (and the
 * pilot draw from a third), so which flag is asked says nothing about the org.
 * @param {number[]} pilot
 */
function buildCalls(pilot) {
  const flagStream = mulberry32(101);
  const orgStream = mulberry32(202);
  const pickStream = mulberry32(303);
  const flagIdx = new Uint8Array(ID_COUNT);
  const ids = new Float64Array(ID_COUNT);
  const pilotSet = new Set(pilot);
  let memberCalls = 0;
  let pilotFlagMemberCalls = 0;
  for (let i = 0; i < ID_COUNT; i++) {
    flagIdx[i] = Math.floor(flagStream() * FLAGS.length);
    const fromPilot = pilot.length > 0 && orgStream() < PILOT_SHARE;
    const id = fromPilot ? /** @type {number} */ (pilot[Math.floor(pickStream() * pilot.length)]) : Math.floor(orgStream() * ORG_SPACE);
    ids[i] = id;
    if (pilotSet.has(id)) {
      memberCalls++;
      if (flagIdx[i] === PILOT_FLAG) pilotFlagMemberCalls++;
    }
  }
  return {
    flagIdx,
    ids,
    idStrings: Array.from(ids, String),
    memberShare: memberCalls / ID_COUNT,
    pilotFlagMemberShare: pilotFlagMemberCalls / ID_COUNT,
  };
}

/**
 * The Unleash feature equivalent to a rollout (control-plane/API.md, "Unleash client API").
 * @param {Rollout} r
 * @param {Cohort[]} cohorts
 */
function toUnleash(r, cohorts) {
  /** @type {Array<{ name: string, parameters: Record<string, string>, constraints?: Array<{ contextName: string, operator: 'IN', values: string[] }> }>} */
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

/**
 * Serves one snapshot on the watch stream, then stays quiet (heartbeat timeout is long).
 * @param {{ rollouts: Rollout[], cohorts: Cohort[] }} config
 * @returns {Promise<import('node:http').Server>}
 */
async function startConfigServer(config) {
  const snapshot = { version: 1, generatedAt: new Date().toISOString(), clusters: [], ranges: [], placements: [], replicas: [], ...config };
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  return server;
}

/** @param {import('node:http').Server} server */
function portOf(server) {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the config server has no port');
  return address.port;
}

/**
 * @param {{ rollouts: Rollout[], cohorts: Cohort[] }} config
 */
async function startUnleash(config) {
  const unleash = new Unleash({
    appName: 'orgplane-bench',
    url: 'http://127.0.0.1:9/api/',
    refreshInterval: 0,
    disableMetrics: true,
    bootstrap: { data: /** @type {any} */ (config.rollouts.map((r) => toUnleash(r, config.cohorts))) },
    storageProvider: new InMemStorageProvider(),
  });
  unleash.on('error', () => {});
  unleash.on('warn', () => {});
  await new Promise((resolve) => unleash.once('ready', resolve));
  return unleash;
}

/** Nanoseconds per call of `run`. @param {(calls: number, offset: number) => number} run */
function timeRound(run, /** @type {number} */ calls, /** @type {number} */ offset) {
  gc();
  const start = process.hrtime.bigint();
  sink += run(calls, offset);
  return Number(process.hrtime.bigint() - start) / calls;
}

// Allocation: garbage collections and new-space growth over many calls. Objects are born
// in the new space; compiled code and feedback live elsewhere. V8's escape analysis
// removes the `{ orgId }` literal on most calls, not on every one; a reused context
// object allocates nothing.
const newSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
/** @param {(calls: number, offset: number) => number} run */
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

/** @param {Scenario} scenario */
async function runScenario(scenario) {
  const config = buildConfig(scenario.pilotSize);
  const calls = buildCalls(config.cohorts[0]?.orgIds ?? []);
  const { flagIdx, ids, idStrings } = calls;
  const server = await startConfigServer(config);
  const runtime = createRuntime({ url: `http://127.0.0.1:${portOf(server)}`, token: TOKEN, heartbeatTimeoutMs: 3_600_000 });
  await runtime.ready(10_000);
  const unleash = await startUnleash(config);
  const mask = ID_COUNT - 1;

  /** @param {number} n @param {number} offset */
  const runRuntime = (n, offset) => {
    let on = 0;
    for (let i = 0; i < n; i++) {
      const j = (i + offset) & mask;
      if (runtime.isEnabled(/** @type {string} */ (FLAGS[/** @type {number} */ (flagIdx[j])]), { orgId: /** @type {number} */ (ids[j]) }))
        on++;
    }
    return on;
  };
  /** The same with one context object reused: what a caller does to rule out any allocation. */
  const context = { orgId: 0 };
  /** @param {number} n @param {number} offset */
  const runRuntimeReused = (n, offset) => {
    let on = 0;
    for (let i = 0; i < n; i++) {
      const j = (i + offset) & mask;
      context.orgId = /** @type {number} */ (ids[j]);
      if (runtime.isEnabled(/** @type {string} */ (FLAGS[/** @type {number} */ (flagIdx[j])]), context)) on++;
    }
    return on;
  };
  /** @param {number} n @param {number} offset */
  const runUnleash = (n, offset) => {
    let on = 0;
    for (let i = 0; i < n; i++) {
      const j = (i + offset) & mask;
      if (unleash.isEnabled(/** @type {string} */ (FLAGS[/** @type {number} */ (flagIdx[j])]), { properties: { orgId: idStrings[j] } }))
        on++;
    }
    return on;
  };

  // Both decide the same on every call of the stream (a benchmark of a wrong answer
  // would be worthless).
  let mismatches = 0;
  for (let j = 0; j < ID_COUNT; j += 3) {
    const flag = /** @type {string} */ (FLAGS[/** @type {number} */ (flagIdx[j])]);
    if (
      runtime.isEnabled(flag, { orgId: /** @type {number} */ (ids[j]) }) !==
      unleash.isEnabled(flag, { properties: { orgId: idStrings[j] } })
    )
      mismatches++;
  }

  // Warm-up, then rounds alternating the two so that both see the same load.
  sink += runRuntime(RUNTIME_CALLS, 0) + runUnleash(UNLEASH_CALLS, 0);
  /** @type {number[]} */
  const runtimeNs = [];
  /** @type {number[]} */
  const unleashNs = [];
  for (let round = 0; round < ROUNDS; round++) {
    runtimeNs.push(timeRound(runRuntime, RUNTIME_CALLS, round * 7919));
    unleashNs.push(timeRound(runUnleash, UNLEASH_CALLS, round * 7919));
  }
  const literal = await allocation(runRuntime);
  const reused = scenario.pilotSize === 0 ? await allocation(runRuntimeReused) : null;

  const name = scenario.name;
  const rt = median(runtimeNs);
  const ul = median(unleashNs);
  const pairRatios = runtimeNs.map((ns, i) => /** @type {number} */ (unleashNs[i]) / ns);
  const shares =
    scenario.pilotSize > 0
      ? {
          pilotSize: scenario.pilotSize,
          callsToPilotMembers: Number(calls.memberShare.toFixed(4)),
          callsToPilotFlagByMembers: Number(calls.pilotFlagMemberShare.toFixed(4)),
        }
      : {};
  printFigure({
    bench: 'flags',
    figure: `evaluations_per_s_${name}`,
    value: Math.round(1e9 / rt),
    unit: '1/s',
    baseline: Math.round(1e9 / ul),
    extra: { baselineIs: 'unleash-client isEnabled, same config', ...shares, ratioPerRound: summary(pairRatios, 1) },
  });
  printFigure({
    bench: 'flags',
    figure: `ns_per_call_${name}`,
    value: Number(rt.toFixed(1)),
    unit: 'ns',
    baseline: Number(ul.toFixed(1)),
    extra: { runtime: summary(runtimeNs), unleash: summary(unleashNs) },
  });
  printFigure({
    bench: 'flags',
    figure: `decision_mismatches_vs_unleash_${name}`,
    value: mismatches,
    unit: 'count',
    extra: { checked: Math.ceil(ID_COUNT / 3) },
  });
  printFigure({ bench: 'flags', figure: `gcs_during_${ALLOCATION_CALLS}_calls_${name}`, value: literal.collections, unit: 'count' });
  printFigure({ bench: 'flags', figure: `new_space_growth_over_${ALLOCATION_CALLS}_calls_${name}`, value: literal.grown, unit: 'bytes' });
  if (reused) {
    printFigure({
      bench: 'flags',
      figure: `new_space_growth_over_${ALLOCATION_CALLS}_calls_reused_context_${name}`,
      value: reused.grown,
      unit: 'bytes',
    });
  }
  unleash.destroy();
  await runtime.close();
  server.closeAllConnections();
  server.close();
  if (mismatches > 0) process.exitCode = 1;
}

/** @type {Scenario[]} */
const scenarios = [
  { name: 'plain', pilotSize: 0 },
  { name: 'pilot_20', pilotSize: 20 },
  { name: 'pilot_1000', pilotSize: 1000 },
];
for (const scenario of scenarios) {
  note('flags', `scenario ${scenario.name}`);
  await runScenario(scenario);
}
if (sink === -1) process.stdout.write('');
