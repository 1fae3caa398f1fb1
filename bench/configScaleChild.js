// @ts-check
// The runtime side of bench:config-scale, in its own process so that its peak RSS is the
// runtime's (it loads nothing of the control plane): `ready` starts one runtime and reports
// its time to ready and peak RSS; `fleet` holds COUNT runtimes for the storm figures.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRuntime } from '../runtime/dist/index.js';
import { Router } from '../runtime/dist/router.js';

const MB = 1024 * 1024;

// ---- child: one runtime to ready -------------------------------------------------------
async function readyChild() {
  const { URL: url, TOKEN: token, CACHE_DIR: cacheDir, MODE: mode } = process.env;
  const t0 = performance.now();
  if (mode === 'json') {
    // What a runtime did before the compact encoding: the JSON snapshot, parsed whole.
    const res = await fetch(`${url}/v1/config`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    const snapshot = JSON.parse(await res.text());
    new Router().applySnapshot(snapshot);
  } else {
    const runtime = createRuntime({
      url: /** @type {string} */ (url),
      token: /** @type {string} */ (token),
      cacheDir,
      backoffBaseMs: 60_000,
    });
    await runtime.ready(120_000);
    const ms = performance.now() - t0;
    report(ms, runtime.source);
    await runtime.close(); // writes the disk cache
    process.exit(0);
  }
  report(performance.now() - t0, 'json');
  process.exit(0);
}

/** @param {number} ms @param {string | null} source */
function report(ms, source) {
  globalThis.gc?.();
  const heapMB = process.memoryUsage().heapUsed / MB;
  // VmHWM, not resourceUsage().maxRSS: Linux carries ru_maxrss over fork and exec, so a
  // child would report its parent's size at fork when that was larger.
  const hwmKB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  process.send?.({ ms, source, peakRssMB: hwmKB / 1024, heapMB });
}

// ---- child: a fleet of runtimes ---------------------------------------------------------
async function fleetChild() {
  const { URL: url, TOKEN: token, COUNT, CACHE_ROOT } = process.env;
  /** @type {import('../runtime/dist/index.js').Runtime[]} */
  let runtimes = [];
  const make = () => {
    runtimes = Array.from({ length: Number(COUNT) }, (_, i) =>
      createRuntime({
        url: /** @type {string} */ (url),
        token: /** @type {string} */ (token),
        ...(CACHE_ROOT ? { cacheDir: path.join(CACHE_ROOT, `rt-${i}`) } : {}),
        cacheDebounceMs: 60_000,
      }),
    );
    for (const r of runtimes) r.on('error', () => {});
  };
  process.on('message', async (/** @type {any} */ message) => {
    if (message.type === 'start') {
      make();
      await Promise.all(runtimes.map((r) => r.ready(600_000)));
      process.send?.({ type: 'ready' });
    } else if (message.type === 'await') {
      while (!runtimes.every((r) => (r.version ?? -1) >= message.version)) await new Promise((r) => setTimeout(r, 5));
      process.send?.({ type: 'reached', version: message.version });
    } else if (message.type === 'stop') {
      await Promise.all(runtimes.map((r) => r.close()));
      process.exit(0);
    }
  });
  process.send?.({ type: 'up' });
}

const mode = process.argv[2];
if (mode === 'ready') await readyChild();
else if (mode === 'fleet') await fleetChild();
