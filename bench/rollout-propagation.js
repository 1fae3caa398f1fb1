// @ts-check
// bench:rollout-propagation — from `rollouts set` (and `rollouts kill`) to `isEnabled`
// flipping in each of 100 runtimes following one control plane's watch stream, against
// the same 100 clients polling every 15 s as Unleash SDKs do by default, in the same run.
//
// A flip is observed where services observe it: each runtime evaluates
// isEnabled(flag, {orgId}) on every config change it applies, and the sample is the time
// from sending the request (the API call the CLI makes, or spawning the CLI process) to
// the first change after which the answer is the new one. The flag alternates between
// 0 % and 100 %, so every org flips every time.
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
const emit = (figure, value, baseline) => printFigure({ bench: 'rollout-propagation', figure, value, unit: 'ms', baseline });

const RUNTIMES = Number(process.env.BENCH_RUNTIMES ?? 100);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const CLI_CHANGES = Number(process.env.BENCH_CLI_CHANGES ?? 5);
const KILLS = Number(process.env.BENCH_KILLS ?? 5);
const POLL_CHANGES = Number(process.env.BENCH_POLL_CHANGES ?? 3);
const FLAG = 'bench-flag';
const ORG = 4242;

/**
 * Resolves with the time (ms) at which each runtime's isEnabled(FLAG, ORG) became `expected`.
 * @param {Runtime[]} runtimes
 * @param {boolean} expected
 * @returns {Promise<number[]>}
 */
function flips(runtimes, expected) {
  return Promise.all(
    runtimes.map(
      (rt) =>
        new Promise((resolve) => {
          if (rt.isEnabled(FLAG, { orgId: ORG }) === expected) return resolve(performance.now());
          const on = () => {
            if (rt.isEnabled(FLAG, { orgId: ORG }) === expected) {
              rt.off('change', on);
              rt.off('snapshot', on);
              resolve(performance.now());
            }
          };
          rt.on('change', on);
          rt.on('snapshot', on);
        }),
    ),
  );
}

async function main() {
  await withFollowingRuntimes(
    RUNTIMES,
    'orgplane-bench-rollout-',
    ({ url, adminToken }) => api(url, adminToken, 'POST', '/v1/rollouts', { flag: FLAG, stages: [{ percent: 0 }, { percent: 100 }] }),
    measure,
  );
}

/** @param {ControlPlane & { runtimes: Runtime[] }} cp */
async function measure({ url, adminToken, sdkToken, runtimes }) {
  let on = false;
  const flipTo = (/** @type {boolean} */ next) => {
    on = next;
    return flips(runtimes, next);
  };

  // Through the API, as `orgplane rollouts set` sends it.
  const samples = [];
  const allFlipped = [];
  for (let i = 1; i <= CHANGES; i++) {
    const t0 = performance.now();
    const done = flipTo(!on);
    await api(url, adminToken, 'POST', `/v1/rollouts/${FLAG}/set`, { percent: on ? 100 : 0, reason: 'bench' });
    const times = await done;
    for (const t of times) samples.push(t - t0);
    allFlipped.push(Math.max(...times) - t0);
  }

  // Through the real CLI process (includes Node and oclif start-up).
  const cliSamples = [];
  for (let i = 1; i <= CLI_CHANGES; i++) {
    const t0 = performance.now();
    const done = flipTo(!on);
    await runCli(url, adminToken, ['rollouts', 'set', FLAG, on ? '100' : '0']);
    for (const t of await done) cliSamples.push(t - t0);
  }

  // The kill switch through the API: from 100 % to off everywhere (then resumed, unmeasured).
  const killSamples = [];
  if (!on) {
    const done = flipTo(true);
    await api(url, adminToken, 'POST', `/v1/rollouts/${FLAG}/set`, { percent: 100 });
    await done;
  }
  for (let i = 1; i <= KILLS; i++) {
    const t0 = performance.now();
    const done = flipTo(false);
    await api(url, adminToken, 'POST', `/v1/rollouts/${FLAG}/kill`, { reason: 'bench' });
    for (const t of await done) killSamples.push(t - t0);
    const back = flipTo(true);
    await api(url, adminToken, 'POST', `/v1/rollouts/${FLAG}/resume`, {});
    await back;
  }

  // Baseline: the same number of clients polling every 15 s see the same kind of change.
  const pollSamples = await measurePolling(url, sdkToken, RUNTIMES, POLL_CHANGES, async (i) => {
    const res = await api(url, adminToken, 'POST', `/v1/rollouts/${FLAG}/set`, { percent: i % 2 === 1 ? 0 : 100 });
    return res.version;
  });

  emit('set_api_to_flipped_p50_ms', pMs(samples, 50), pMs(pollSamples, 50));
  emit('set_api_to_flipped_p99_ms', pMs(samples, 99), pMs(pollSamples, 99));
  emit('set_all_100_flipped_p99_ms', pMs(allFlipped, 99), null);
  emit('set_cli_to_flipped_p50_ms', pMs(cliSamples, 50), pMs(pollSamples, 50));
  emit('set_cli_to_flipped_p99_ms', pMs(cliSamples, 99), pMs(pollSamples, 99));
  emit('kill_api_to_off_p99_ms', pMs(killSamples, 99), pMs(pollSamples, 99));
}

await main();
