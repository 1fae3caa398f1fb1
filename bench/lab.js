// @ts-check
// bench:lab — `orgplane lab up --orgs N` from spawning the CLI to its exit (a fleet of 3
// clusters with a streaming replica each, N seeded orgs, the control plane), in a fresh
// directory every run, then `lab down --purge --yes` (not timed). Min and median over the
// runs. Nothing comparable runs in the same run: no baseline.
// Env: BENCH_LAB_ORGS (10000; the lab takes up to 1000000), BENCH_LAB_RUNS (3).
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { envInt, median, note, printFigure, summary } from './lib.js';

const ORGS = envInt('BENCH_LAB_ORGS', 10_000);
const RUNS = envInt('BENCH_LAB_RUNS', 3);
const CLI = fileURLToPath(new URL('../cli/bin/run.js', import.meta.url));

/** Runs the CLI; resolves with elapsed seconds, rejects with its stderr on a non-zero exit. @param {string[]} args */
function orgplane(args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve((performance.now() - started) / 1000);
      else reject(new Error(`orgplane ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

/** @type {number[]} */
const seconds = [];
for (let run = 0; run < RUNS; run++) {
  const work = await mkdtemp(path.join(tmpdir(), 'orgplane-bench-lab-'));
  await chmod(work, 0o755); // Postgres runs as another OS user
  const dir = path.join(work, 'lab');
  try {
    note('lab', `run ${run + 1}/${RUNS}: lab up --orgs ${ORGS}`);
    seconds.push(/** @type {number} */ (await orgplane(['lab', 'up', '--orgs', String(ORGS), '--dir', dir, '--json'])));
  } finally {
    await orgplane(['lab', 'down', '--purge', '--yes', '--dir', dir, '--json']).catch((err) => note('lab', `lab down: ${err.message}`));
    await rm(work, { recursive: true, force: true });
  }
}
printFigure({
  bench: 'lab',
  figure: `lab_up_s_${ORGS}_orgs`,
  value: Number(median(seconds).toFixed(1)),
  unit: 's',
  extra: {
    what: '`orgplane lab up --orgs N`, CLI spawn to exit: 3 clusters + 1 replica each, seeded, control plane up',
    ...summary(seconds),
  },
});
