// @ts-check
// bench:read-routing — reads through the runtime in a lab of one cluster with 2 streaming
// replicas (`orgplane lab up --clusters 1 --replicas 2`, the control plane's health
// checker probing them every second). Figures, each with its baseline from the same run:
// - ns to choose a read pool, beside choosing the write pool (target <= 100 ns);
// - read throughput with 2 healthy replicas, beside every read on the primary (both
//   replicas drained);
// - ms from a replica's state change (drain / undrain through the API) to each of 100
//   runtimes routing by it (p50, p99; target < 1 s);
// - ms from stopping a replica's server (`orgplane lab replica stop`, spawned at t0) to
//   the last read the runtime sent to it, and from the first read that failed on it to
//   that last one (the max over the trials: few samples).
// Env: BENCH_RUNTIMES (100), BENCH_CHANGES (10), BENCH_READ_SECONDS (5), BENCH_READERS (16),
// BENCH_STOP_TRIALS (3), BENCH_POOL_CALLS (2000000).
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '../runtime/dist/index.js';
import { envInt, median, note, percentile, percentileLabel, printFigure } from './lib.js';

const BENCH = 'read-routing';
const RUNTIMES = envInt('BENCH_RUNTIMES', 100);
const CHANGES = envInt('BENCH_CHANGES', 10);
const READ_SECONDS = envInt('BENCH_READ_SECONDS', 5);
const READERS = envInt('BENCH_READERS', 16);
const STOP_TRIALS = envInt('BENCH_STOP_TRIALS', 3);
const POOL_CALLS = envInt('BENCH_POOL_CALLS', 2_000_000);
const CLI = fileURLToPath(new URL('../cli/bin/run.js', import.meta.url));
const ORG = 42;

/** @typedef {import('../runtime/dist/index.js').Runtime} Runtime */

/** Runs the CLI with --json; resolves with its document. @param {string[]} args @returns {Promise<any>} */
function orgplane(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out))
        : reject(new Error(`orgplane ${args.join(' ')}: ${code} ${out.slice(-1000)} ${err.slice(-1000)}`)),
    );
  });
}

/**
 * @param {string} url
 * @param {string} token
 * @param {string} method
 * @param {string} p
 */
async function api(url, token, method, p) {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return /** @type {any} */ (await res.json());
}

/** @param {() => boolean | Promise<boolean>} check @param {string} what */
async function waitFor(check, what, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Replica ids the runtime would read from. @param {Runtime} rt */
function healthy(rt) {
  const meta = /** @type {any} */ (rt).meta;
  return (meta?.replicas ?? []).filter((/** @type {any} */ r) => r.state === 'healthy').map((/** @type {any} */ r) => r.id);
}

/** Reads in a loop from READERS workers for `seconds`; resolves with reads per second. @param {Runtime} rt @param {number} seconds */
async function throughput(rt, seconds) {
  let reads = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      while (performance.now() < until) {
        await rt.read(ORG, 'SELECT org_id, name FROM organizations WHERE org_id = $1', [ORG]);
        reads++;
      }
    }),
  );
  return reads / seconds;
}

/** ns per call of `fn`, the median of 5 rounds. @param {() => unknown} fn */
function nsPerCall(fn) {
  /** @type {number[]} */
  const rounds = [];
  let sink = 0;
  for (let round = 0; round < 6; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < POOL_CALLS; i++) if (fn()) sink++;
    const ns = Number(process.hrtime.bigint() - started) / POOL_CALLS;
    if (round > 0) rounds.push(ns); // the first round warms up
  }
  if (sink < 0) throw new Error('unreachable');
  return Number(median(rounds).toFixed(1));
}

async function main() {
  const work = await mkdtemp(path.join(tmpdir(), 'orgplane-bench-reads-'));
  await chmod(work, 0o755);
  const dir = path.join(work, 'lab');
  /** @type {Runtime[]} */
  const runtimes = [];
  try {
    note(BENCH, 'lab up --clusters 1 --replicas 2');
    const lab = await orgplane(['lab', 'up', '--orgs', '1000', '--clusters', '1', '--replicas', '2', '--dir', dir]);
    const { url, token } = lab.controlPlane;
    const primaryUrl = new URL(lab.clusters[0].primary.url);
    const credentials = { user: decodeURIComponent(primaryUrl.username), password: decodeURIComponent(primaryUrl.password) };
    const replicaIds = lab.clusters[0].replicas.map((/** @type {any} */ r) => r.id);
    const make = () => {
      const rt = createRuntime({ url, token, credentials, poolOptions: { max: READERS } });
      rt.on('error', () => {});
      runtimes.push(rt);
      return rt;
    };
    const rt = make();
    await rt.ready(30_000);
    await waitFor(() => healthy(rt).length === 2, 'both replicas healthy');

    // 1. Choosing a pool.
    const readNs = nsPerCall(() => rt.pool(ORG, { intent: 'read' }));
    const writeNs = nsPerCall(() => rt.pool(ORG, { intent: 'write' }));
    printFigure({
      bench: BENCH,
      figure: 'choose_read_pool_ns',
      value: readNs,
      unit: 'ns',
      baseline: writeNs,
      extra: { baselineIs: "pool(orgId, {intent: 'write'})", target: '<= 100 ns' },
    });

    // 2. Throughput: 2 healthy replicas, then both drained (every read on the primary).
    await throughput(rt, 1); // warm the pools
    const onReplicas = await throughput(rt, READ_SECONDS);
    for (const id of replicaIds) await api(url, token, 'POST', `/v1/replicas/${id}/drain`);
    await waitFor(() => healthy(rt).length === 0, 'both drained in the runtime');
    const onPrimary = await throughput(rt, READ_SECONDS);
    for (const id of replicaIds) await api(url, token, 'POST', `/v1/replicas/${id}/undrain`);
    await waitFor(() => healthy(rt).length === 2, 'both back');
    printFigure({
      bench: BENCH,
      figure: 'reads_per_s_two_replicas',
      value: Math.round(onReplicas),
      unit: '1/s',
      baseline: Math.round(onPrimary),
      extra: {
        baselineIs: 'every read on the primary (both replicas drained)',
        readers: READERS,
        note: 'replicas share the machine with the primary',
      },
    });

    // 3. A state change reaching 100 runtimes.
    note(BENCH, `${RUNTIMES} runtimes following the control plane`);
    const followers = Array.from({ length: RUNTIMES - 1 }, make);
    await Promise.all(followers.map((f) => f.ready(30_000)));
    const all = [rt, ...followers];
    /** @type {number[]} */
    const delays = [];
    for (let i = 0; i < CHANGES; i++) {
      const verb = i % 2 === 0 ? 'drain' : 'undrain';
      const sent = performance.now();
      const arrived = Promise.all(
        all.map(
          (r) =>
            new Promise((resolve) => {
              const before = r.version ?? 0;
              const on = () => {
                if ((r.version ?? 0) > before) {
                  r.off('change', on);
                  resolve(performance.now() - sent);
                }
              };
              r.on('change', on);
            }),
        ),
      );
      await api(url, token, 'POST', `/v1/replicas/${replicaIds[0]}/${verb}`);
      delays.push(.../** @type {number[]} */ (await arrived));
    }
    if (CHANGES % 2 === 1) await api(url, token, 'POST', `/v1/replicas/${replicaIds[0]}/undrain`);
    const round = (/** @type {number} */ x) => Math.round(x * 10) / 10;
    printFigure({
      bench: BENCH,
      figure: 'state_change_to_routing_p50_ms',
      value: round(percentile(delays, 50)),
      unit: 'ms',
      extra: { samples: delays.length, runtimes: RUNTIMES },
    });
    printFigure({
      bench: BENCH,
      figure: `state_change_to_routing_${percentileLabel(99, delays.length)}_ms`,
      value: round(percentile(delays, 99)),
      unit: 'ms',
      extra: { samples: delays.length, runtimes: RUNTIMES, target: '< 1000 ms' },
    });
    await Promise.all(followers.map((f) => f.close()));
    runtimes.splice(1);

    // 4. A replica's server stopped under reads: when does the last read go to it?
    await waitFor(() => healthy(rt).length === 2, 'both healthy before the stop trials');
    const ports = new Map(lab.clusters[0].replicas.map((/** @type {any} */ r) => [Number(new URL(r.url).port), r.id]));
    /** @type {number[]} */
    const lastSentMs = [];
    /** @type {number[]} */
    const afterFirstFailureMs = [];
    for (let trial = 0; trial < STOP_TRIALS; trial++) {
      const victim = replicaIds[trial % 2];
      let reading = true;
      let failures = 0;
      /** @type {number | null} */
      let t0 = null;
      let lastSent = 0;
      /** @type {number | null} */
      let firstFailure = null;
      const onRetry = (/** @type {{ replicaId: string }} */ e) => {
        if (e.replicaId !== victim) return;
        lastSent = performance.now();
        firstFailure ??= lastSent;
      };
      rt.on('read-retry', onRetry);
      const readers = Array.from({ length: READERS }, async () => {
        while (reading) {
          const sent = performance.now();
          try {
            const { rows } = await rt.read(ORG, 'SELECT inet_server_port() AS port');
            if (ports.get(rows[0].port) === victim) lastSent = Math.max(lastSent, sent);
          } catch {
            failures++;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 500));
      t0 = performance.now();
      await orgplane(['lab', 'replica', 'stop', victim, '--dir', dir]);
      await waitFor(
        async () =>
          (await api(url, token, 'GET', '/v1/replicas')).replicas.find((/** @type {any} */ r) => r.id === victim).state === 'unreachable',
        'unreachable',
      );
      await new Promise((r) => setTimeout(r, 3000));
      reading = false;
      await Promise.all(readers);
      rt.off('read-retry', onRetry);
      lastSentMs.push(Math.max(0, lastSent - t0));
      if (firstFailure !== null) afterFirstFailureMs.push(Math.max(0, lastSent - firstFailure));
      note(BENCH, `stop trial ${trial + 1}: last read sent ${Math.round(lastSent - t0)} ms after the stop began; ${failures} failed reads`);
      await orgplane(['lab', 'replica', 'start', victim, '--dir', dir]);
      await waitFor(() => healthy(rt).length === 2, 'the victim back in rotation');
    }
    printFigure({
      bench: BENCH,
      figure: `stop_to_no_reads_${percentileLabel(99, lastSentMs.length)}_ms`,
      value: Math.round(percentile(lastSentMs, 99)),
      unit: 'ms',
      extra: { samples: lastSentMs, note: 't0 = `orgplane lab replica stop` spawned; the server answers reads until its shutdown ends' },
    });
    printFigure({
      bench: BENCH,
      figure: `first_failed_read_to_no_reads_${percentileLabel(99, afterFirstFailureMs.length)}_ms`,
      value: Math.round(percentile(afterFirstFailureMs, 99)),
      unit: 'ms',
      extra: {
        samples: afterFirstFailureMs,
        note: 'from the first read that found the replica gone (and ran again elsewhere) to the last read sent to it',
      },
    });
  } finally {
    await Promise.all(runtimes.map((r) => r.close().catch(() => {})));
    await orgplane(['lab', 'down', '--purge', '--yes', '--dir', dir]).catch((e) => note(BENCH, `lab down: ${e.message}`));
    await rm(work, { recursive: true, force: true });
  }
}

await main();
