// @ts-check
// What the propagation benchmarks share: a control plane in its own process on a fresh
// control DB, API calls, the real CLI process, and Unleash-style 15 s pollers.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createApiToken } from '../control-plane/dist/index.js';
import { createTestDatabase, freePort, startTestPostgres } from '../embedded/dist/index.js';
import { createRuntime } from '../runtime/dist/index.js';

/** @typedef {Awaited<ReturnType<typeof startControlPlane>>} ControlPlane */
/** @typedef {ReturnType<typeof createRuntime>} Runtime */

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Unleash SDKs poll every 15 s by default. */
export const POLL_INTERVAL_MS = 15_000;

/** @param {readonly number[]} values @param {number} q */
export function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * A percentile in ms, to 0.1 ms.
 * @param {readonly number[]} values
 * @param {number} q
 */
export const pMs = (values, q) => Math.round(percentile(values, q) * 10) / 10;

/** @param {string} url */
export async function waitReady(url) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`control plane at ${url} never became ready`);
}

/**
 * @param {string} url
 * @param {string} token
 * @param {string} method
 * @param {string} p
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(url, token, method, p, body) {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * The control plane (control-plane/dist/main.js) in its own process on a fresh control
 * DB of `pg`, with an admin and an sdk:read token. `stop()` ends it. `options.reuse`
 * starts another process on the same DB, tokens and port (a restart); `options.env` adds
 * settings.
 * @param {import('../embedded/dist/index.js').TestPostgres} pg
 * @param {{ env?: Record<string, string>, reuse?: { dbUrl: string, port: number, adminToken: string, sdkToken: string } }} [options]
 */
export async function startControlPlane(pg, options = {}) {
  const dbUrl = options.reuse?.dbUrl ?? (await createTestDatabase(pg.adminUrl, 'control-plane'));
  const adminToken = options.reuse?.adminToken ?? (await createApiToken(dbUrl, { name: 'bench-admin', scope: 'admin' })).token;
  const sdkToken = options.reuse?.sdkToken ?? (await createApiToken(dbUrl, { name: 'bench-sdk', scope: 'sdk:read' })).token;
  const port = options.reuse?.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [path.join(root, 'control-plane/dist/main.js')], {
    env: {
      ...process.env,
      ORGPLANE_DATABASE_URL: dbUrl,
      ORGPLANE_PORT: String(port),
      ORGPLANE_LOG_LEVEL: 'warn',
      ORGPLANE_MIGRATE: 'false',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitReady(url);
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  return {
    url,
    dbUrl,
    port,
    pid: /** @type {number} */ (child.pid),
    adminToken,
    sdkToken,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    },
  };
}

/**
 * A fresh Postgres, the control plane on it (`startControlPlane`) and `count` runtimes
 * following its watch stream, each with its own cache dir under a temp dir named `prefix`.
 * `prepare(cp)` runs before the runtimes start, `body({ ...cp, runtimes })` once they are
 * all ready; everything is stopped and removed afterwards, also on failure.
 * @template T
 * @param {number} count
 * @param {string} prefix
 * @param {(cp: ControlPlane) => Promise<void>} prepare
 * @param {(cp: ControlPlane & { runtimes: Runtime[] }) => Promise<T>} body
 * @returns {Promise<T>}
 */
export async function withFollowingRuntimes(count, prefix, prepare, body) {
  const pg = await startTestPostgres();
  const work = await mkdtemp(path.join(tmpdir(), prefix));
  /** @type {ControlPlane | undefined} */
  let cp;
  /** @type {Runtime[]} */
  const runtimes = [];
  try {
    cp = await startControlPlane(pg);
    await prepare(cp);
    for (let i = 0; i < count; i++) {
      runtimes.push(createRuntime({ url: cp.url, token: cp.sdkToken, cacheDir: path.join(work, `rt-${i}`) }));
    }
    await Promise.all(runtimes.map((rt) => rt.ready(30_000)));
    return await body({ ...cp, runtimes });
  } finally {
    await Promise.all(runtimes.map((rt) => rt.close()));
    await cp?.stop();
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** The CLI the benches run: BENCH_CLI_BIN (another build's bin/run.js, to compare) or this one's. */
export const cliBin = process.env.BENCH_CLI_BIN ? path.resolve(process.env.BENCH_CLI_BIN) : path.join(root, 'cli/bin/run.js');

/**
 * Runs `orgplane <args> --json` as a real process; resolves with its JSON document.
 * @param {string} url
 * @param {string} token
 * @param {string[]} args
 * @returns {Promise<any>}
 */
export function runCli(url, token, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args, '--json'], {
      env: { ...process.env, ORGPLANE_URL: url, ORGPLANE_TOKEN: token },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`cli exited ${code}: ${out}`))));
  });
}

/**
 * An Unleash-style client: GET /v1/config with If-None-Match every 15 s, random phase.
 * @param {string} url
 * @param {string} token
 * @param {(version: number, at: number) => void} onVersion
 */
export function startPoller(url, token, onVersion) {
  let etag = '';
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    const res = await fetch(`${url}/v1/config`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': etag } });
    if (res.status === 200) {
      etag = res.headers.get('etag') ?? '';
      onVersion(/** @type {{ version: number }} */ (await res.json()).version, performance.now());
    } else await res.arrayBuffer();
  };
  const first = setTimeout(() => {
    poll();
    timer = setInterval(poll, POLL_INTERVAL_MS);
  }, Math.random() * POLL_INTERVAL_MS);
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
  };
}

/**
 * The baseline: `clients` pollers; after they are all polling, each of `changes` (one
 * call to `makeChange`, resolving with the new version) is followed by a full interval.
 * Resolves with every (poller, change) delay in ms.
 * @param {string} url
 * @param {string} token
 * @param {number} clients
 * @param {number} changes
 * @param {(i: number) => Promise<number>} makeChange
 */
export async function measurePolling(url, token, clients, changes, makeChange) {
  /** @type {number[]} */
  const samples = [];
  /** @type {Map<number, number>} */
  const waiting = new Map();
  const seen = new Array(clients).fill(0);
  const stops = [];
  for (let i = 0; i < clients; i++) {
    stops.push(
      startPoller(url, token, (version, t) => {
        for (let v = seen[i] + 1; v <= version; v++) {
          const t0 = waiting.get(v);
          if (t0 !== undefined) samples.push(t - t0);
        }
        seen[i] = version;
      }),
    );
  }
  try {
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS + 1000));
    for (let i = 1; i <= changes; i++) {
      const t0 = performance.now();
      waiting.set(await makeChange(i), t0);
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS + 500));
    }
  } finally {
    for (const stop of stops) stop();
  }
  return samples;
}
