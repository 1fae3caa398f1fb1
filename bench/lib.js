// Shared helpers for the benchmarks: one JSON line per figure on stdout (DESIGN.md).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Rounds a ratio to four significant digits (133.3, 0.3512); null when nothing compares. */
export function ratioOf(value, baseline) {
  if (baseline === null || baseline === 0) return null;
  return Number((value / baseline).toPrecision(4));
}

/** Prints `{"bench","figure","value","unit","baseline","ratio"}` as one line. */
export function printFigure({ bench, figure, value, unit, baseline = null }) {
  process.stdout.write(`${JSON.stringify({ bench, figure, value, unit, baseline, ratio: ratioOf(value, baseline) })}\n`);
}

/** `global.gc`, exposing it at run time when node was started without --expose-gc. */
export function getGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Deterministic PRNG (mulberry32) so that runs compare. Returns floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
