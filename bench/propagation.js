// @ts-check
// bench:propagation — how long a shard-map change takes to be applied by 100 runtimes
// following the watch stream, against the same 100 clients polling every 15 s as
// Unleash SDKs do by default, measured in the same run.
//
// Figures: from the moment the change request is sent (what the CLI does) to each
// runtime's `change` event; and from spawning the `orgplane` CLI process itself.
import { performance } from 'node:perf_hooks';
import { printFigure } from './lib.js';
import { api, measurePolling, pMs, runCli, withFollowingRuntimes } from './propagationLib.js';

/** @typedef {import('./propagationLib.js').ControlPlane} ControlPlane */
/** @typedef {import('./propagationLib.js').Runtime} Runtime */

/**
 * @param {string} figure
 * @param {number} value
 * @param {number | null} baseline
 */
const emit = (figure, value, baseline) => printFigure({ bench: 'propagation', figure, value, unit: 'ms', baseline });

const RUNTIMES = Number(process.env.BENCH_RUNTIMES ?? 100);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const CLI_CHANGES = Number(process.env.BENCH_CLI_CHANGES ?? 5);
const POLL_CHANGES = Number(process.env.BENCH_POLL_CHANGES ?? 3);

/**
 * Resolves with the arrival time (ms) at each runtime of `version`.
 * @param {Runtime[]} runtimes
 * @param {number} version
 * @returns {Promise<number[]>}
 */
function arrivals(runtimes, version) {
  return Promise.all(
    runtimes.map(
      (rt) =>
        new Promise((resolve) => {
          if ((rt.version ?? -1) >= version) return resolve(performance.now());
          const on = (/** @type {{ version: number }} */ c) => {
            if (c.version >= version) {
              rt.off('change', on);
              resolve(performance.now());
            }
          };
          rt.on('change', on);
        }),
    ),
  );
}

async function main() {
  await withFollowingRuntimes(RUNTIMES, 'orgplane-bench-prop-', prepare, measure);
}

/**
 * Three clusters and their ranges, so that there is something to split.
 * @param {ControlPlane} cp
 */
async function prepare({ url, adminToken }) {
  for (const id of ['primary-1', 'primary-2', 'primary-3']) {
    await api(url, adminToken, 'POST', '/v1/clusters', { id, primary: { url: `postgres://app@127.0.0.1:5432/${id}` } });
  }
  await api(url, adminToken, 'PUT', '/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999_999_999, clusterId: 'primary-1' },
      { lo: 1_000_000_000, hi: 1_999_999_999, clusterId: 'primary-2' },
      { lo: 2_000_000_000, hi: Number.MAX_SAFE_INTEGER, clusterId: 'primary-3' },
    ],
  });
}

/** @param {ControlPlane & { runtimes: Runtime[] }} cp */
async function measure({ url, adminToken, sdkToken, runtimes }) {
  // Through the API, as the CLI sends it.
  const samples = [];
  const allApplied = [];
  for (let i = 1; i <= CHANGES; i++) {
    const t0 = performance.now();
    const res = await api(url, adminToken, 'POST', '/v1/shard-map/split', { at: i * 1000 });
    const times = await arrivals(runtimes, res.version);
    for (const t of times) samples.push(t - t0);
    allApplied.push(Math.max(...times) - t0);
  }

  // Through the real CLI process (includes Node and oclif start-up).
  const cliSamples = [];
  for (let i = 1; i <= CLI_CHANGES; i++) {
    const t0 = performance.now();
    const done = arrivals(runtimes, (runtimes[0]?.version ?? 0) + 1);
    await runCli(url, adminToken, ['shards', 'split', '--at', String(500_000 + i * 1000)]);
    for (const t of await done) cliSamples.push(t - t0);
  }

  // Baseline: the same number of clients polling every 15 s.
  const pollSamples = await measurePolling(url, sdkToken, RUNTIMES, POLL_CHANGES, async (i) => {
    const res = await api(url, adminToken, 'POST', '/v1/shard-map/split', { at: 2_000_000 + i * 1000 });
    return res.version;
  });

  emit('api_to_applied_p50_ms', pMs(samples, 50), pMs(pollSamples, 50));
  emit('api_to_applied_p99_ms', pMs(samples, 99), pMs(pollSamples, 99));
  emit('all_100_applied_p99_ms', pMs(allApplied, 99), null);
  emit('cli_to_applied_p50_ms', pMs(cliSamples, 50), pMs(pollSamples, 50));
  emit('cli_to_applied_p99_ms', pMs(cliSamples, 99), pMs(pollSamples, 99));
}

await main();
