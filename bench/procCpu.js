// @ts-check
// CPU time of a Postgres server as Linux accounts it: the postmaster and all its children
// (backends, walsenders, the checkpointer, ...), read from /proc/<pid>/stat. A child that
// exits hands its time to the postmaster's cutime/cstime once reaped, so counting every
// process's own and its reaped children's time keeps the sum monotonic across the short
// lived backends of a copy. Linux only.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/** Clock ticks per second of the /proc times (`getconf CLK_TCK`; 100 on every Linux we run). */
const TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The postmaster's pid: the first line of `<dataDir>/postmaster.pid`. */
export function postmasterPid(/** @type {string} */ dataDir) {
  const file = path.join(dataDir, 'postmaster.pid');
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${file} names no pid`);
  return pid;
}

/**
 * utime + stime + cutime + cstime of one process in ticks, or 0 when it is gone. The
 * command name may hold spaces and parentheses: the fields are counted after its last ')'.
 * @param {number} pid
 */
async function ticksOf(pid) {
  let stat;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime..cstime are fields 14..17.
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** The direct children of a process (Postgres's processes are all the postmaster's). */
async function childrenOf(/** @type {number} */ pid) {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

/** CPU seconds used so far by the postmaster `pid` and its children. */
export async function serverCpuSeconds(/** @type {number} */ pid) {
  const pids = [pid, ...(await childrenOf(pid))];
  const ticks = await Promise.all(pids.map(ticksOf));
  return ticks.reduce((a, b) => a + b, 0) / TICKS_PER_S;
}

/**
 * Samples the CPU seconds of each named postmaster every `everyMs`, with the
 * performance.now() time of each sample, so that the CPU between two moments known only
 * afterwards (a move's recorded `copying` and `catching_up` events) can be read off by
 * linear interpolation.
 * @param {Record<string, number>} pids name -> postmaster pid
 * @param {number} [everyMs]
 */
export function startCpuSampler(pids, everyMs = 100) {
  /** @type {Array<{ at: number, cpu: Record<string, number> }>} */
  const samples = [];
  const sample = async () => {
    const at = performance.now();
    const entries = await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await serverCpuSeconds(pid)]));
    samples.push({ at, cpu: Object.fromEntries(entries) });
  };
  let pending = sample();
  let busy = true;
  pending.finally(() => {
    busy = false;
  });
  // A slow sample (a loaded box) skips ticks rather than queueing them.
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    pending = sample().finally(() => {
      busy = false;
    });
  }, everyMs);
  /** CPU seconds of `name` at `at` (performance.now() ms), interpolated between samples. */
  const cpuAt = (/** @type {string} */ name, /** @type {number} */ at) => {
    const value = (/** @type {{ cpu: Record<string, number> }} */ s) => s.cpu[name] ?? Number.NaN;
    const first = samples[0];
    const last = samples[samples.length - 1];
    if (!first || !last || at < first.at || at > last.at) throw new Error(`no CPU samples of ${name} around ${at}`);
    let i = 0;
    while (i + 1 < samples.length && /** @type {{ at: number }} */ (samples[i + 1]).at < at) i++;
    const a = /** @type {{ at: number, cpu: Record<string, number> }} */ (samples[i]);
    const b = samples[i + 1] ?? a;
    const t = b.at === a.at ? 0 : (at - a.at) / (b.at - a.at);
    return value(a) + t * (value(b) - value(a));
  };
  return {
    /** Stops sampling after one last sample. */
    async stop() {
      clearInterval(timer);
      await pending;
      await sample();
    },
    /** CPU seconds `name` used between two performance.now() times. */
    cpuBetween(/** @type {string} */ name, /** @type {number} */ from, /** @type {number} */ to) {
      return cpuAt(name, to) - cpuAt(name, from);
    },
  };
}
