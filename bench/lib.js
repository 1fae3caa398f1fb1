// @ts-check
// Shared helpers for the benchmarks: one JSON line per figure on stdout (DESIGN.md),
// each with the machine's load average beside it (the box is shared: a figure taken at
// load 12 is not one taken at load 1).
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Rounds a ratio to four significant digits (133.3, 0.3512); null when nothing compares. */
export function ratioOf(/** @type {number} */ value, /** @type {number | null} */ baseline) {
  if (baseline === null || baseline === 0) return null;
  return Number((value / baseline).toPrecision(4));
}

/** The 1, 5 and 15 minute load averages, two decimals. */
export function loadAverage() {
  return loadavg().map((x) => Number(x.toFixed(2)));
}

/**
 * @typedef {object} Figure
 * @property {string} bench
 * @property {string} figure
 * @property {number | null} value
 * @property {string} unit
 * @property {number | null} [baseline]
 * @property {Record<string, unknown>} [extra] more fields (runs, min, median, what the baseline is), printed after `ratio`
 */

/**
 * Prints `{"bench","figure","value","unit","baseline","ratio", ...extra, "load"}` as one
 * line. `ratio` is value / baseline; `load` the 1/5/15-minute load averages when printed.
 * @param {Figure} figure
 */
export function printFigure({ bench, figure, value, unit, baseline = null, extra = {} }) {
  const ratio = value === null ? null : ratioOf(value, baseline);
  process.stdout.write(`${JSON.stringify({ bench, figure, value, unit, baseline, ratio, ...extra, load: loadAverage() })}\n`);
}

/** A progress line on stderr with the load average, so a slow phase can be told from a busy box. */
export function note(/** @type {string} */ bench, /** @type {string} */ line) {
  process.stderr.write(`[bench:${bench}] ${line} (load ${loadAverage().join(' ')})\n`);
}

/** `global.gc`, exposing it at run time when node was started without --expose-gc. */
export function getGc() {
  if (typeof globalThis.gc === 'function') return /** @type {() => void} */ (globalThis.gc);
  setFlagsFromString('--expose-gc');
  return /** @type {() => void} */ (runInNewContext('gc'));
}

/** @param {readonly number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const at = (/** @type {number} */ k) => sorted[k] ?? Number.NaN;
  return sorted.length % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}

/**
 * The nearest-rank percentile (q in 0..100). With fewer than 100 / (100 - q) samples
 * it is the maximum: callers label such a figure "max of N" (see percentileLabel).
 * @param {readonly number[]} values
 * @param {number} q
 */
export function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * `p99` when there are enough samples for one (at least 100 / (100 - q): a p99 of 20
 * samples is their maximum), else `max_of_N`.
 * @param {number} q
 * @param {number} n
 */
export function percentileLabel(q, n) {
  return n >= Math.ceil(100 / (100 - q)) ? `p${q}` : `max_of_${n}`;
}

/** min, median and the number of samples, rounded to `digits`. */
export function summary(/** @type {readonly number[]} */ values, digits = 1) {
  const r = (/** @type {number} */ x) => Number(x.toFixed(digits));
  return { runs: values.length, min: r(Math.min(...values)), median: r(median(values)) };
}

/** Deterministic PRNG (mulberry32) so that runs compare. Returns floats in [0, 1). */
export function mulberry32(/** @type {number} */ seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer from the environment, or `fallback`; anything else is refused by name. */
export function envInt(/** @type {string} */ name, /** @type {number} */ fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(raw)}`);
  return n;
}
