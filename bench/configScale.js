// @ts-check
// bench:config-scale — the config protocol at 1 M pins (issue 14): snapshot bytes as JSON,
// gzip and compact; control-plane time per snapshot request, cold and cached, against
// today's per-request serialization (load + JSON.stringify) in the same run; a runtime's
// time to ready and peak RSS from the API and from disk, against the JSON path; and
// reconnect storms of N runtimes (in a few worker processes) with the control plane's
// CPU and peak RSS.
//   BENCH_PINS (default 1,000,000), BENCH_STORM_NS (default 500,1000,2000, at
//   BENCH_STORM_PINS = 10,000 pins), BENCH_STORM_BIG_N (default 40 runtimes at BENCH_PINS),
//   BENCH_SNAPSHOT=0 (storms only).
// Runtimes run in bench/configScaleChild.js processes.
import { fork } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Database } from '../control-plane/dist/db/Database.js';
import { ConfigSnapshotService } from '../control-plane/dist/features/config/ConfigSnapshotService.js';
import { SnapshotCache } from '../control-plane/dist/features/config/SnapshotCache.js';
import { createStores } from '../control-plane/dist/stores.js';
import { startTestPostgres } from '../embedded/dist/index.js';
import { COMPACT_MEDIA_TYPE } from '../runtime/dist/compactSnapshot.js';
import { median, note, printFigure } from './lib.js';
import { api, startControlPlane } from './propagationLib.js';

const BENCH = 'config-scale';
/** Runtimes run in children that load the runtime only (this file loads the control plane too). */
const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'configScaleChild.js');
const PINS = Number(process.env.BENCH_PINS ?? 1_000_000);
const STORM_PINS = Number(process.env.BENCH_STORM_PINS ?? 10_000);
const STORM_NS = (process.env.BENCH_STORM_NS ?? '500,1000,2000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const STORM_BIG_N = Number(process.env.BENCH_STORM_BIG_N ?? 40);
const WORKERS = 4;

/** @param {Partial<import('./lib.js').Figure> & { figure: string, value: number | null, unit: string }} f */
const figure = (f) => printFigure({ bench: BENCH, ...f });

// ---- parent -----------------------------------------------------------------------------

/**
 * @param {string} mode
 * @param {Record<string, string>} env
 * @returns {Promise<any>}
 */
function runChild(mode, env) {
  return new Promise((resolve, reject) => {
    const child = fork(childScript, [mode], {
      env: { ...process.env, ...env },
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    /** @type {any} */
    let result;
    child.on('message', (m) => {
      result = m;
    });
    child.on('exit', (code) => (code === 0 ? resolve(result) : reject(new Error(`${mode} child exited ${code}`))));
  });
}

/**
 * Raw bytes of `GET /v1/config` with these headers (fetch would decode them).
 * @param {string} url @param {Record<string, string>} headers
 * @returns {Promise<{ status: number, bytes: number, ms: number, headers: import('node:http').IncomingHttpHeaders }>}
 */
function rawGet(url, headers) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(`${url}/v1/config`, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - t0, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** CPU seconds and peak RSS (VmHWM) of a process, from /proc. @param {number} pid */
async function procStats(pid) {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(stat[11]) + Number(stat[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, peakRssMB: hwm / 1024, rssMB: rss / 1024 };
}

/** @param {string} dbUrl @param {number} pins */
async function seedPins(dbUrl, pins) {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    // Random org ids below 10^10 and random clusters: no pattern for gzip to find that real pins lack.
    await client.query('SELECT setseed(0.14)');
    await client.query(
      `INSERT INTO placements (org_id, cluster_id, state, epoch)
       SELECT DISTINCT ON (id) id, CASE WHEN random() < 0.5 THEN 'primary-1' ELSE 'primary-2' END,
              CASE WHEN random() < 0.02 THEN 'fenced' ELSE 'active' END, 1 + (random() * 3)::int
       FROM (SELECT 1000 + (random() * 1e10)::bigint AS id FROM generate_series(1, $1)) g
       ON CONFLICT DO NOTHING`,
      [pins],
    );
  } finally {
    await client.end();
  }
}

/** @param {{ url: string, adminToken: string }} cp */
async function seedMap(cp) {
  for (const id of ['primary-1', 'primary-2']) {
    await api(cp.url, cp.adminToken, 'POST', '/v1/clusters', { id, primary: { url: `postgres://${id}.invalid/app` }, replicas: [] });
  }
  await api(cp.url, cp.adminToken, 'PUT', '/v1/shard-map/ranges', {
    ranges: [{ lo: 0, hi: Number.MAX_SAFE_INTEGER, clusterId: 'primary-1' }],
  });
}

let changeOrg = 1;
/** One change through the API; its version (read from the control DB). @param {{ url: string, adminToken: string, dbUrl: string }} cp */
async function change(cp) {
  await api(cp.url, cp.adminToken, 'PUT', `/v1/placements/${changeOrg++}`, { clusterId: 'primary-1' });
  const client = new pg.Client({ connectionString: cp.dbUrl });
  await client.connect();
  try {
    return Number((await client.query('SELECT version FROM config_version')).rows[0].version);
  } finally {
    await client.end();
  }
}

/** @param {import('../embedded/dist/index.js').TestPostgres} pgServer */
async function snapshotFigures(pgServer) {
  const cp = await startControlPlane(pgServer);
  const work = await mkdtemp(path.join(tmpdir(), 'orgplane-bench-config-'));
  try {
    await seedMap(cp);
    note(BENCH, `seeding ${PINS} pins`);
    await seedPins(cp.dbUrl, PINS);
    await change(cp);
    const auth = { authorization: `Bearer ${cp.sdkToken}` };

    // Bytes on the wire.
    const json = await rawGet(cp.url, { ...auth, accept: 'application/json' });
    const forms = {
      json_gzip: { ...auth, 'accept-encoding': 'gzip' },
      json_br: { ...auth, 'accept-encoding': 'br' },
      compact: { ...auth, accept: COMPACT_MEDIA_TYPE },
      compact_gzip: { ...auth, accept: COMPACT_MEDIA_TYPE, 'accept-encoding': 'gzip' },
      compact_br: { ...auth, accept: COMPACT_MEDIA_TYPE, 'accept-encoding': 'br' },
    };
    figure({ figure: 'snapshot_bytes_json', value: json.bytes, unit: 'bytes', extra: { pins: PINS } });
    for (const [name, headers] of Object.entries(forms)) {
      const res = await rawGet(cp.url, headers);
      figure({
        figure: `snapshot_bytes_${name}`,
        value: res.bytes,
        unit: 'bytes',
        baseline: json.bytes,
        extra: { baseline_is: 'the JSON snapshot (today)', first_request_ms: Math.round(res.ms), pins: PINS },
      });
    }

    // Control-plane time per request, in this process against the same DB.
    const pool = new pg.Pool({ connectionString: cp.dbUrl, max: 4 });
    const service = new ConfigSnapshotService(new Database(pool, createStores));
    const today = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const snapshot = await service.load();
      JSON.stringify(snapshot);
      today.push(performance.now() - t0);
    }
    const todayMs = median(today);
    const cache = new SnapshotCache(service);
    let t0 = performance.now();
    const cold = await cache.current();
    const coldBuildMs = performance.now() - t0;
    t0 = performance.now();
    await cold.json.get('gzip');
    const gzipMs = performance.now() - t0;
    t0 = performance.now();
    await cold.compact.get('gzip');
    const compactGzipMs = performance.now() - t0;
    t0 = performance.now();
    await cold.compact.get('br');
    const compactBrMs = performance.now() - t0;
    const cached = [];
    for (let i = 0; i < 200; i++) {
      const t1 = performance.now();
      const c = await cache.current();
      await c.compact.negotiate('gzip, br');
      cached.push(performance.now() - t1);
    }
    await pool.end();
    figure({
      figure: 'request_ms_cold',
      value: round(coldBuildMs),
      unit: 'ms',
      baseline: round(todayMs),
      extra: {
        baseline_is: "today's every request: load + JSON.stringify",
        what: 'first request of a version: load, JSON and compact bodies, the compact gzip the watch stream sends',
        then_json_gzip_ms: round(gzipMs),
        then_compact_gzip_ms: round(compactGzipMs),
        then_compact_br_ms: round(compactBrMs),
      },
    });
    figure({
      figure: 'request_ms_cached',
      value: round(median(cached), 3),
      unit: 'ms',
      baseline: round(todayMs),
      extra: {
        baseline_is: "today's every request: load + JSON.stringify",
        what: 'version read + cached compact gzip body',
        runs: cached.length,
      },
    });
    const http = [];
    for (let i = 0; i < 30; i++) http.push((await rawGet(cp.url, forms.compact_gzip)).ms);
    const notModified = [];
    const etag = (await rawGet(cp.url, forms.compact_gzip)).headers.etag ?? '';
    for (let i = 0; i < 30; i++) notModified.push((await rawGet(cp.url, { ...forms.compact_gzip, 'if-none-match': etag })).ms);
    figure({
      figure: 'http_ms_cached_compact_gzip',
      value: round(median(http), 2),
      unit: 'ms',
      baseline: round(json.ms),
      extra: {
        baseline_is: 'GET /v1/config JSON, first request of the version',
        not_modified_ms: round(median(notModified), 2),
        runs: http.length,
      },
    });

    // A runtime's time to ready and peak RSS: API (compact) against the JSON path, then disk.
    const env = { URL: cp.url, TOKEN: cp.sdkToken };
    const jsonReady = await runChild('ready', { ...env, MODE: 'json' });
    const apiReady = await runChild('ready', { ...env, MODE: 'runtime', CACHE_DIR: path.join(work, 'rt') });
    figure({
      figure: 'runtime_ready_ms_api',
      value: round(apiReady.ms),
      unit: 'ms',
      baseline: round(jsonReady.ms),
      extra: { baseline_is: 'JSON snapshot parsed whole', source: apiReady.source },
    });
    figure({
      figure: 'runtime_peak_rss_mb_api',
      value: round(apiReady.peakRssMB),
      unit: 'MB',
      baseline: round(jsonReady.peakRssMB),
      extra: { baseline_is: 'JSON snapshot parsed whole', heap_after_mb: round(apiReady.heapMB) },
    });
    // From disk with the control plane unreachable: the compact file, then an old JSON file.
    const diskEnv = { URL: 'http://127.0.0.1:9', TOKEN: cp.sdkToken, MODE: 'runtime' };
    const diskReady = await runChild('ready', { ...diskEnv, CACHE_DIR: path.join(work, 'rt') });
    await mkdir(path.join(work, 'json'));
    const jsonText = await (await fetch(`${cp.url}/v1/config`, { headers: auth })).text();
    await writeFile(path.join(work, 'json', 'orgplane-config.json'), jsonText);
    const jsonDiskReady = await runChild('ready', { ...diskEnv, CACHE_DIR: path.join(work, 'json') });
    figure({
      figure: 'runtime_ready_ms_disk',
      value: round(diskReady.ms),
      unit: 'ms',
      baseline: round(jsonDiskReady.ms),
      extra: { baseline_is: 'a JSON disk cache', source: diskReady.source },
    });
    figure({
      figure: 'runtime_peak_rss_mb_disk',
      value: round(diskReady.peakRssMB),
      unit: 'MB',
      baseline: round(jsonDiskReady.peakRssMB),
      extra: { baseline_is: 'a JSON disk cache' },
    });
  } finally {
    await cp.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * N runtimes in WORKERS processes; `restart`: all following, the control plane restarts,
 * one change, time until all have it; `cold`: all start at once with no config.
 * @param {import('../embedded/dist/index.js').TestPostgres} pgServer
 * @param {number} pins @param {number[]} ns
 */
async function stormFigures(pgServer, pins, ns) {
  let cp = await startControlPlane(pgServer);
  const work = await mkdtemp(path.join(tmpdir(), 'orgplane-bench-storm-'));
  try {
    await seedMap(cp);
    await seedPins(cp.dbUrl, pins);
    await change(cp);
    for (const n of ns) {
      for (const mode of ['cold', 'restart']) {
        const per = Math.ceil(n / WORKERS);
        const workers = [];
        for (let w = 0; w < WORKERS; w++) {
          const count = Math.min(per, n - w * per);
          if (count <= 0) break;
          const child = fork(childScript, ['fleet'], {
            env: {
              ...process.env,
              URL: cp.url,
              TOKEN: cp.sdkToken,
              COUNT: String(count),
              CACHE_ROOT: path.join(work, `${mode}-${n}-${w}`),
            },
            stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
          });
          workers.push(child);
          await once(child, 'up');
        }
        const before = await procStats(cp.pid);
        const t0 = performance.now();
        await Promise.all(workers.map((w) => ask(w, { type: 'start' }, 'ready')));
        const coldMs = performance.now() - t0;
        let caughtUpMs = coldMs;
        if (mode === 'restart') {
          await cp.stop();
          cp = await startControlPlane(pgServer, { reuse: cp });
          const t1 = performance.now();
          const version = await change(cp);
          await Promise.all(workers.map((w) => ask(w, { type: 'await', version }, 'reached')));
          caughtUpMs = performance.now() - t1;
        }
        const after = await procStats(cp.pid);
        figure({
          figure: `storm_${mode}_caught_up_ms`,
          value: Math.round(caughtUpMs),
          unit: 'ms',
          extra: {
            runtimes: n,
            pins,
            processes: workers.length,
            what:
              mode === 'cold'
                ? 'N runtimes with no config start at once, until all are ready'
                : 'control plane restarted, one change, until all N have it',
            control_plane_cpu_s: round(mode === 'cold' ? after.cpuS - before.cpuS : after.cpuS),
            control_plane_peak_rss_mb: round(after.peakRssMB),
          },
        });
        await Promise.all(
          workers.map(
            (w) =>
              new Promise((r) => {
                w.once('exit', r);
                w.send({ type: 'stop' });
              }),
          ),
        );
      }
    }
  } finally {
    await cp.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** @param {import('node:child_process').ChildProcess} child @param {string} type */
function once(child, type) {
  return new Promise((resolve, reject) => {
    const onMessage = (/** @type {any} */ m) => {
      if (m?.type === type) {
        child.off('message', onMessage);
        resolve(m);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`worker exited ${code} waiting for ${type}`)));
  });
}

/** @param {import('node:child_process').ChildProcess} child @param {object} message @param {string} reply */
function ask(child, message, reply) {
  const answer = once(child, reply);
  child.send(message);
  return answer;
}

/** @param {number} x @param {number} [digits] */
function round(x, digits = 1) {
  return Number(x.toFixed(digits));
}

async function main() {
  const pgServer = await startTestPostgres();
  try {
    if (process.env.BENCH_SNAPSHOT !== '0') await snapshotFigures(pgServer);
    if (STORM_BIG_N > 0) await stormFigures(pgServer, PINS, [STORM_BIG_N]);
    if (STORM_NS.length > 0) await stormFigures(pgServer, STORM_PINS, STORM_NS);
  } finally {
    await pgServer.stop();
  }
}

await main();
