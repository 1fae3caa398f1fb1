// bench:propagation — how long a shard-map change takes to be applied by 100 runtimes
// following the watch stream, against the same 100 clients polling every 15 s as
// Unleash SDKs do by default, measured in the same run.
//
// Figures: from the moment the change request is sent (what the CLI does) to each
// runtime's `change` event; and from spawning the `orgplane` CLI process itself.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, freePort, startTestPostgres } from '../control-plane/dist/embedded/index.js';
import { createApiToken } from '../control-plane/dist/index.js';
import { createRuntime } from '../runtime/dist/index.js';
import { printFigure } from './lib.js';

function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const emit = (figure, value, baseline) => printFigure({ bench: 'propagation', figure, value, unit: 'ms', baseline });

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTIMES = Number(process.env.BENCH_RUNTIMES ?? 100);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const CLI_CHANGES = Number(process.env.BENCH_CLI_CHANGES ?? 5);
const POLL_INTERVAL_MS = 15_000;
const POLL_CHANGES = Number(process.env.BENCH_POLL_CHANGES ?? 3);

async function waitReady(url) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`control plane at ${url} never became ready`);
}

async function api(url, token, method, p, body) {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Resolves with the arrival time (ms) at each runtime of `version`. */
function arrivals(runtimes, version) {
  return Promise.all(
    runtimes.map(
      (rt) =>
        new Promise((resolve) => {
          if (rt.version >= version) return resolve(performance.now());
          const on = (c) => {
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

function runCli(url, token, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'cli/bin/run.js'), ...args, '--json'], {
      env: { ...process.env, ORGPLANE_URL: url, ORGPLANE_TOKEN: token },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`cli exited ${code}: ${out}`))));
  });
}

/** An Unleash-style client: GET /v1/config with If-None-Match every 15 s, random phase. */
function startPoller(url, token, onVersion) {
  let etag = '';
  let stopped = false;
  const poll = async () => {
    if (stopped) return;
    const res = await fetch(`${url}/v1/config`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': etag } });
    if (res.status === 200) {
      etag = res.headers.get('etag') ?? '';
      onVersion((await res.json()).version, performance.now());
    } else await res.arrayBuffer();
  };
  const first = setTimeout(() => {
    poll();
    timer = setInterval(poll, POLL_INTERVAL_MS);
  }, Math.random() * POLL_INTERVAL_MS);
  let timer;
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
  };
}

async function main() {
  const pg = await startTestPostgres();
  const work = await mkdtemp(path.join(tmpdir(), 'orgplane-bench-prop-'));
  const dbUrl = await createTestDatabase(pg.adminUrl, 'control-plane');
  const admin = await createApiToken(dbUrl, { name: 'bench-admin', scope: 'admin' });
  const sdk = await createApiToken(dbUrl, { name: 'bench-sdk', scope: 'sdk:read' });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cp = spawn(process.execPath, [path.join(root, 'control-plane/dist/main.js')], {
    env: {
      ...process.env,
      ORGPLANE_DATABASE_URL: dbUrl,
      ORGPLANE_PORT: String(port),
      ORGPLANE_LOG_LEVEL: 'warn',
      ORGPLANE_MIGRATE: 'false',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const runtimes = [];
  try {
    await waitReady(url);
    for (const id of ['primary-1', 'primary-2', 'primary-3']) {
      await api(url, admin.token, 'POST', '/v1/clusters', { id, primary: { url: `postgres://app@127.0.0.1:5432/${id}` } });
    }
    await api(url, admin.token, 'PUT', '/v1/shard-map/ranges', {
      ranges: [
        { lo: 0, hi: 999_999_999, clusterId: 'primary-1' },
        { lo: 1_000_000_000, hi: 1_999_999_999, clusterId: 'primary-2' },
        { lo: 2_000_000_000, hi: Number.MAX_SAFE_INTEGER, clusterId: 'primary-3' },
      ],
    });
    for (let i = 0; i < RUNTIMES; i++) {
      runtimes.push(createRuntime({ url, token: sdk.token, cacheDir: path.join(work, `rt-${i}`) }));
    }
    await Promise.all(runtimes.map((rt) => rt.ready(30_000)));

    // Through the API, as the CLI sends it.
    const samples = [];
    const allApplied = [];
    for (let i = 1; i <= CHANGES; i++) {
      const t0 = performance.now();
      const res = await api(url, admin.token, 'POST', '/v1/shard-map/split', { at: i * 1000 });
      const times = await arrivals(runtimes, res.version);
      for (const t of times) samples.push(t - t0);
      allApplied.push(Math.max(...times) - t0);
    }

    // Through the real CLI process (includes Node and oclif start-up).
    const cliSamples = [];
    for (let i = 1; i <= CLI_CHANGES; i++) {
      const t0 = performance.now();
      const done = arrivals(runtimes, runtimes[0].version + 1);
      await runCli(url, admin.token, ['shards', 'split', '--at', String(500_000 + i * 1000)]);
      for (const t of await done) cliSamples.push(t - t0);
    }

    // Baseline: the same number of clients polling every 15 s.
    const pollSamples = [];
    const waiting = new Map();
    const stops = [];
    const seen = new Array(RUNTIMES).fill(0);
    for (let i = 0; i < RUNTIMES; i++) {
      stops.push(
        startPoller(url, sdk.token, (version, t) => {
          for (let v = seen[i] + 1; v <= version; v++) {
            const t0 = waiting.get(v);
            if (t0 !== undefined) pollSamples.push(t - t0);
          }
          seen[i] = version;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS + 1000));
    for (let i = 1; i <= POLL_CHANGES; i++) {
      const t0 = performance.now();
      const res = await api(url, admin.token, 'POST', '/v1/shard-map/split', { at: 2_000_000 + i * 1000 });
      waiting.set(res.version, t0);
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS + 500));
    }
    for (const stop of stops) stop();

    const p = (xs, q) => Math.round(percentile(xs, q) * 10) / 10;
    emit('api_to_applied_p50_ms', p(samples, 50), p(pollSamples, 50));
    emit('api_to_applied_p99_ms', p(samples, 99), p(pollSamples, 99));
    emit('all_100_applied_p99_ms', p(allApplied, 99), null);
    emit('cli_to_applied_p50_ms', p(cliSamples, 50), p(pollSamples, 50));
    emit('cli_to_applied_p99_ms', p(cliSamples, 99), p(pollSamples, 99));
  } finally {
    await Promise.all(runtimes.map((rt) => rt.close()));
    cp.kill('SIGTERM');
    await new Promise((r) => cp.once('close', r));
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
