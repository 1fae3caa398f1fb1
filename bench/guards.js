// @ts-check
// bench:guards: the tenant API with every request guard on against the same service with
// them off, in the same run, under autocannon. Each variant runs in its own process
// (examples/tenant-api/dist/main.js) following one control plane, over one tenant database;
// the guards use a private redis-server, so its INFO commandstats count only our round trips.
// Figures: req/s closed-loop (reads, then creates with an Idempotency-Key), p99 at a fixed
// offered rate (open-loop: autocannon's overallRate) and the Redis round trips per request.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { seedOrgs } from '../cli/dist/lab/seed.js';
import { createTestDatabase, freePort, startRedisServer, startTestPostgres } from '../embedded/dist/index.js';
import { median, note, printFigure } from './lib.js';
import { api, root, startControlPlane } from './propagationLib.js';

const BENCH = 'guards';
const ORGS = 200;
const SECONDS = Number(process.env.BENCH_GUARDS_SECONDS ?? 8);
const CONNECTIONS = 32;

/**
 * @param {string} cpUrl @param {string} token @param {string} redisUrl @param {string} password @param {'on' | 'off'} guards
 */
async function startTenantApi(cpUrl, token, redisUrl, password, guards) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'examples/tenant-api/dist/main.js')], {
    env: {
      ...process.env,
      ORGPLANE_URL: cpUrl,
      ORGPLANE_TOKEN: token,
      REDIS_URL: redisUrl,
      TENANT_API_PORT: String(port),
      TENANT_API_GUARDS: guards,
      TENANT_API_INSTANCE: `bench-${guards}`,
      TENANT_DB_PASSWORD: password,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    },
  };
}

/**
 * Round trips so far: the commands a client sends (INFO commandstats also counts the
 * commands scripts run inside Redis, which cost no round trip). The guards send only
 * EVALSHA (EVAL after a script-cache miss) and a pipelined ZREM on release; the tenant
 * API adds a PUBLISH per create.
 */
async function redisCalls(/** @type {Redis} */ redis) {
  const text = /** @type {string} */ (await redis.info('commandstats'));
  let calls = 0;
  for (const m of text.matchAll(/^cmdstat_(evalsha|eval|publish):calls=(\d+)/gm)) calls += Number(m[2]);
  return calls;
}

/**
 * @param {string} url
 * @param {'read' | 'create'} kind
 * @param {{ seconds: number, rate?: number }} opts
 */
async function load(url, kind, opts) {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: opts.seconds,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    requests: [
      {
        setupRequest: (/** @type {any} */ req) => {
          const org = 1 + Math.floor(Math.random() * ORGS);
          if (kind === 'read') return { ...req, method: 'GET', path: `/orgs/${org}/properties`, headers: { 'x-user-id': `u${org % 7}` } };
          return {
            ...req,
            method: 'POST',
            path: `/orgs/${org}/expenses`,
            headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), 'x-user-id': `u${org % 7}` },
            body: JSON.stringify({ propertyId: 1, amountCents: 1234, category: 'bench' }),
          };
        },
      },
    ],
  });
  const ok = result['2xx'];
  return { rps: ok / opts.seconds, p99: result.latency.p99, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors };
}

const pg = await startTestPostgres();
const redisServer = await startRedisServer();
const redis = new Redis(redisServer.url);
/** @type {Array<{ stop(): Promise<void> }>} */
const running = [];
try {
  const cp = await startControlPlane(pg);
  running.push(cp);
  const tenantUrl = await createTestDatabase(pg.adminUrl, 'tenant');
  await seedOrgs(tenantUrl, 1, ORGS);
  await api(cp.url, cp.adminToken, 'POST', '/v1/clusters', { id: 'primary-1', primary: { url: tenantUrl } });
  await api(cp.url, cp.adminToken, 'PUT', '/v1/shard-map/ranges', {
    ranges: [{ lo: 0, hi: Number.MAX_SAFE_INTEGER, clusterId: 'primary-1' }],
  });
  // Limits far above what one box can send: every request pays for the check, none is refused.
  for (const subject of ['org', 'user']) {
    await api(cp.url, cp.adminToken, 'PUT', `/v1/limits/tiers/default/${subject}/all`, { limit: 1_000_000_000, windowSeconds: 1 });
    for (const tier of ['starter', 'enterprise']) {
      await api(cp.url, cp.adminToken, 'PUT', `/v1/limits/tiers/${tier}/${subject}/all`, { limit: 1_000_000_000, windowSeconds: 1 });
    }
  }
  const password = decodeURIComponent(new URL(pg.adminUrl).password);
  const off = await startTenantApi(cp.url, cp.sdkToken, redisServer.url, password, 'off');
  running.push(off);
  const on = await startTenantApi(cp.url, cp.sdkToken, redisServer.url, password, 'on');
  running.push(on);
  note(BENCH, 'warming up both');
  await load(off.url, 'read', { seconds: 2 });
  await load(on.url, 'read', { seconds: 2 });

  /** @type {{ readOff: number[], readOn: number[] }} */
  const rps = { readOff: [], readOn: [] };
  let readRoundTrips = 0;
  let readRequests = 0;
  for (let round = 0; round < 2; round++) {
    note(BENCH, `reads, round ${round + 1}: guards off`);
    rps.readOff.push((await load(off.url, 'read', { seconds: SECONDS })).rps);
    note(BENCH, `reads, round ${round + 1}: guards on`);
    const before = await redisCalls(redis);
    const r = await load(on.url, 'read', { seconds: SECONDS });
    readRoundTrips += (await redisCalls(redis)) - before;
    readRequests += r.requests;
    rps.readOn.push(r.rps);
    if (r.non2xx) note(BENCH, `${r.non2xx} non-2xx answers with guards on`);
  }
  const offRps = median(rps.readOff);
  const onRps = median(rps.readOn);
  printFigure({
    bench: BENCH,
    figure: 'reads_req_per_s_guards_on',
    value: Math.round(onRps),
    unit: '1/s',
    baseline: Math.round(offRps),
    extra: { baselineIs: 'the same service, guards off', runs: rps, connections: CONNECTIONS, seconds: SECONDS },
  });
  printFigure({
    bench: BENCH,
    figure: 'redis_round_trips_per_read',
    value: Number((readRoundTrips / readRequests).toFixed(3)),
    unit: 'calls',
    extra: { guardsOnRead: 'rate limit: one script for every limit that applies (here org and user)' },
  });

  const rate = Math.max(100, Math.round(offRps * 0.5));
  note(BENCH, `p99 at a fixed offered rate of ${rate}/s (open loop)`);
  const p99Off = (await load(off.url, 'read', { seconds: SECONDS, rate })).p99;
  const p99On = (await load(on.url, 'read', { seconds: SECONDS, rate })).p99;
  printFigure({
    bench: BENCH,
    figure: 'read_p99_ms_guards_on',
    value: p99On,
    unit: 'ms',
    baseline: p99Off,
    extra: { offeredRate: rate, addedMs: Number((p99On - p99Off).toFixed(2)) },
  });

  note(BENCH, 'creates with an Idempotency-Key: guards off, then on');
  const createOff = await load(off.url, 'create', { seconds: SECONDS });
  const before = await redisCalls(redis);
  const createOn = await load(on.url, 'create', { seconds: SECONDS });
  const createCalls = (await redisCalls(redis)) - before;
  printFigure({
    bench: BENCH,
    figure: 'creates_req_per_s_guards_on',
    value: Math.round(createOn.rps),
    unit: '1/s',
    baseline: Math.round(createOff.rps),
    extra: { baselineIs: 'the same service, guards off', p99On: createOn.p99, p99Off: createOff.p99 },
  });
  printFigure({
    bench: BENCH,
    figure: 'redis_round_trips_per_create',
    value: Number((createCalls / createOn.requests).toFixed(3)),
    unit: 'calls',
    extra: { guardsOnCreate: 'rate limit 1 + idempotency claim 1 + idempotency record 1, plus the event PUBLISH of the service itself' },
  });
} finally {
  for (const r of running.reverse()) await r.stop().catch(() => {});
  redis.disconnect();
  await redisServer.stop();
  await pg.stop();
}
