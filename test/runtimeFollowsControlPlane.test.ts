// The runtime against the real control plane on real Postgres: it follows changes,
// survives a control-plane restart without missing a version, starts from its disk
// snapshot when the control plane is down, and hands out pools on the owning primary.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, type ControlPlane, createApiToken, loadConfig } from '@orgplane/control-plane';
import { createTestDatabase, freePort } from '@orgplane/embedded';
import { createRuntime, type Runtime } from '@orgplane/runtime';
import { type ConfigSnapshot, ORG_ID_MAX } from '@orgplane/runtime/wire';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';

let dbUrl: string;
let port: number;
let url: string;
let admin: string;
let sdk: string;
let cacheDir: string;
const running: ControlPlane[] = [];

async function startControlPlane(listen = true): Promise<ControlPlane> {
  const config = loadConfig({
    ORGPLANE_DATABASE_URL: dbUrl,
    ORGPLANE_PORT: String(port),
    ORGPLANE_LOG_LEVEL: 'silent',
    ORGPLANE_MIGRATE: 'false',
  });
  const cp = await buildApp(config);
  if (listen) await cp.app.listen({ host: '127.0.0.1', port });
  running.push(cp);
  return cp;
}

async function call(cp: ControlPlane, method: 'GET' | 'POST' | 'PUT', p: string, body?: unknown) {
  const res = await cp.app.inject({
    method,
    url: p,
    headers: { authorization: `Bearer ${admin}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
}

function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** The route the snapshot implies, computed independently of the runtime's router. */
function expectedRoute(s: ConfigSnapshot, orgId: number): string | undefined {
  return s.placements.find((p) => p.orgId === orgId)?.clusterId ?? s.ranges.find((r) => r.lo <= orgId && orgId <= r.hi)?.clusterId;
}

const SAMPLE = [0, 1, 999, 1000, 1001, 4999, 5000, 5001, 7777, 20_000, 123_456, ORG_ID_MAX];

beforeAll(async () => {
  dbUrl = await createTestDatabase(inject('pgAdminUrl'), 'control-plane');
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  admin = (await createApiToken(dbUrl, { name: 'it-admin', scope: 'admin' })).token;
  sdk = (await createApiToken(dbUrl, { name: 'it-sdk', scope: 'sdk:read' })).token;
  cacheDir = await mkdtemp(path.join(tmpdir(), 'orgplane-rt-cache-'));
  const cp = await startControlPlane();
  // Both clusters are tenant databases on the test server, so pool() can be checked against
  // real Postgres, and the shard-map guard can ask them whether a reroute strands rows
  // (none here: no org has rows) and keep their ownership markers in step.
  const adminUrl = inject('pgAdminUrl');
  await call(cp, 'POST', '/v1/clusters', { id: 'primary-1', primary: { url: await createTestDatabase(adminUrl, 'tenant') } });
  await call(cp, 'POST', '/v1/clusters', { id: 'primary-2', primary: { url: await createTestDatabase(adminUrl, 'tenant') } });
  await call(cp, 'PUT', '/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 4999, clusterId: 'primary-1' },
      { lo: 5000, hi: ORG_ID_MAX, clusterId: 'primary-2' },
    ],
  });
});

afterAll(async () => {
  for (const cp of running) await cp.close().catch(() => {});
  await rm(cacheDir, { recursive: true, force: true });
});

it('follows every change across a control-plane restart, then starts from disk with the control plane down', async () => {
  // The config carries no passwords: the service supplies them, as a real one would from its secrets.
  const password = new URL(inject('pgAdminUrl')).password;
  const runtime: Runtime = createRuntime({
    url,
    token: sdk,
    cacheDir,
    backoffCapMs: 300,
    cacheDebounceMs: 10,
    credentials: { password },
  });
  const seen: number[] = [];
  runtime.on('change', (c) => seen.push(c.version));
  await runtime.ready(10_000);
  const startVersion = runtime.version;
  if (startVersion === null) throw new Error('ready() resolved without a config version');

  // Stop the control plane the runtime watches; change the map through another instance.
  const first = running[0]!;
  await first.close();
  const other = await startControlPlane(false);
  await call(other, 'POST', '/v1/shard-map/split', { at: 1000 });
  await call(other, 'POST', '/v1/shard-map/split', { at: 7000 });
  await call(other, 'POST', '/v1/shard-map/assign', { lo: 7000, hi: ORG_ID_MAX, clusterId: 'primary-1' });
  await call(other, 'PUT', '/v1/placements/7777', { clusterId: 'primary-2' });
  await call(other, 'PUT', '/v1/placements/1001', { clusterId: 'primary-2' });
  const latest: ConfigSnapshot = await call(other, 'GET', '/v1/config');
  expect(latest.version).toBe(startVersion + 5);

  // Back on the same address: the runtime reconnects and catches up.
  await startControlPlane();
  await waitFor(() => runtime.version === latest.version, 'the runtime to catch up');
  expect(seen).toEqual([1, 2, 3, 4, 5].map((i) => startVersion + i)); // every version, in order, none missed
  for (const orgId of SAMPLE) expect(runtime.route(orgId), `org ${orgId}`).toBe(expectedRoute(latest, orgId));

  // pool() hands out a working pool on the owning primary.
  const pool = runtime.pool(42, { intent: 'write' });
  expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  expect(runtime.pool(43, { intent: 'read' })).toBe(pool);
  await runtime.close();

  // Control plane down at start: a new runtime serves from the disk snapshot.
  for (const cp of running.splice(0)) await cp.close();
  const cold = createRuntime({ url, token: sdk, cacheDir, backoffCapMs: 300 });
  const errors: string[] = [];
  cold.on('error', (e) => errors.push(e.code));
  try {
    await cold.ready(10_000);
    expect(cold.source).toBe('disk');
    expect(cold.version).toBe(latest.version);
    for (const orgId of SAMPLE) expect(cold.route(orgId), `org ${orgId}`).toBe(expectedRoute(latest, orgId));
    // Nothing has confirmed the disk copy is current: staleness says so, and the runtime
    // reports why it could not ask.
    expect(cold.stalenessSeconds()).toBe(Number.POSITIVE_INFINITY);
    await waitFor(() => errors.includes('NETWORK_ERROR'), 'a NETWORK_ERROR event');
  } finally {
    await cold.close();
  }
});
