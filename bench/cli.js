// @ts-check
// bench:cli — the wall time of an `orgplane` process from spawn to exit: `--version`,
// `--help`, and `shards list --json` against a real control plane (its own Postgres and
// process, as bench:propagation starts them), beside `node -e 0` measured in the same run
// (the floor: Node's own start-up). Runs are interleaved so that load changes hit every
// command alike; every figure carries the load average (printFigure), as it moves them.
//
// BENCH_RUNS (default 15) runs of each; BENCH_CLI_BIN runs another build's bin/run.js
// (to compare a before and an after on the same machine).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { startTestPostgres } from '../embedded/dist/index.js';
import { envInt, median, percentile, printFigure } from './lib.js';
import { cliBin, startControlPlane } from './propagationLib.js';

const RUNS = envInt('BENCH_RUNS', 15);

/**
 * Spawns `node <args>` and resolves with its wall time in ms and its stdout; rejects on a non-zero exit.
 * @param {string[]} args @param {NodeJS.ProcessEnv} env @returns {Promise<{ms: number, out: string}>}
 */
function timed(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, out });
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${err || out}`));
    });
  });
}

const round = (/** @type {number} */ ms) => Math.round(ms * 10) / 10;

async function main() {
  const pg = await startTestPostgres();
  let cp;
  try {
    cp = await startControlPlane(pg);
    const env = { ...process.env, ORGPLANE_URL: cp.url, ORGPLANE_TOKEN: cp.adminToken, NO_COLOR: '1' };
    const cases = {
      node: ['-e', '0'],
      version: [cliBin, '--version'],
      help: [cliBin, '--help'],
      shards_list: [cliBin, 'shards', 'list', '--json'],
    };
    // One unmeasured round warms the file cache; `shards list` must really answer.
    for (const args of Object.values(cases)) await timed(args, env);
    const listed = JSON.parse((await timed(cases.shards_list, env)).out);
    if (typeof listed.version !== 'number') throw new Error(`shards list --json answered ${JSON.stringify(listed)}`);

    /** @type {Record<string, number[]>} */
    const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    const nodeSamples = /** @type {number[]} */ (samples.node);
    for (let i = 0; i < RUNS; i++) {
      for (const [name, args] of Object.entries(cases)) samples[name]?.push((await timed(args, env)).ms);
    }

    const baseline = round(median(nodeSamples));
    for (const [name, values] of Object.entries(samples)) {
      if (name === 'node') continue;
      printFigure({
        bench: 'cli',
        figure: `${name}_ms_min`,
        value: round(Math.min(...values)),
        unit: 'ms',
        baseline: round(Math.min(...nodeSamples)),
      });
      printFigure({ bench: 'cli', figure: `${name}_ms_median`, value: round(median(values)), unit: 'ms', baseline });
      printFigure({
        bench: 'cli',
        figure: `${name}_ms_p90`,
        value: round(percentile(values, 90)),
        unit: 'ms',
        baseline: round(percentile(nodeSamples, 90)),
      });
    }
    printFigure({ bench: 'cli', figure: 'node_e0_ms_median', value: baseline, unit: 'ms' });
  } finally {
    await cp?.stop();
    await pg.stop();
  }
}

await main();
