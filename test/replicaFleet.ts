// A tenant cluster with real streaming replicas, the control plane probing them, and
// runtimes reading through them: the fixture of the replica-health tests.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, type ControlPlane, createApiToken, loadConfig, migrate } from '@orgplane/control-plane';
import { createTestDatabase, freePort, PostgresServer } from '@orgplane/embedded';
import { createRuntime, type Runtime, type RuntimeOptions } from '@orgplane/runtime';
import { ORG_ID_MAX } from '@orgplane/runtime/wire';

export const CLUSTER = 'primary-1';
export const TENANT_DB = 'tenant';

export interface ReplicaFleet {
  primary: PostgresServer;
  replicas: { id: string; server: PostgresServer }[];
  cp: ControlPlane;
  url: string;
  admin: string;
  sdk: string;
  /** A JSON API call as the admin; throws unless 2xx. */
  call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', p: string, body?: unknown): Promise<T>;
  runtime(options?: Partial<RuntimeOptions>): Promise<Runtime>;
  /** One statement on the tenant DB of the primary. */
  sql<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startReplicaFleet(opts: { adminUrl: string; replicas: number; probeMs?: number }): Promise<ReplicaFleet> {
  const root = await mkdtemp(path.join(tmpdir(), 'orgplane-replica-fleet-'));
  await chmod(root, 0o755);
  const password = randomBytes(12).toString('hex');
  const primary = new PostgresServer({ dataDir: path.join(root, 'primary', 'data'), port: await freePort(), password, fast: true });
  const replicas: { id: string; server: PostgresServer }[] = [];
  const runtimes: Runtime[] = [];
  let cp: ControlPlane | undefined;
  const close = async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await cp?.close();
    for (const s of [...replicas.map((r) => r.server), primary]) await s.stop('immediate').catch(() => {});
    await rm(root, { recursive: true, force: true });
  };
  try {
    await primary.init();
    await primary.start();
    await primary.sql(`CREATE DATABASE ${TENANT_DB}`);
    await migrate(primary.url(TENANT_DB), 'tenant');
    for (let i = 1; i <= opts.replicas; i++) {
      const id = `${CLUSTER}-replica-${i}`;
      const server = await primary.startStreamingReplica({ dataDir: path.join(root, id, 'data'), slot: id.replaceAll('-', '_') });
      replicas.push({ id, server });
    }
    const databaseUrl = await createTestDatabase(opts.adminUrl, 'control-plane');
    const port = await freePort();
    const config = loadConfig({
      ORGPLANE_DATABASE_URL: databaseUrl,
      ORGPLANE_PORT: String(port),
      ORGPLANE_LOG_LEVEL: 'silent',
      ORGPLANE_MIGRATE: 'false',
      ORGPLANE_REPLICA_PROBE_MS: String(opts.probeMs ?? 200),
    });
    cp = await buildApp(config, { replicaHealth: true });
    await cp.app.listen({ host: '127.0.0.1', port });
    const admin = (await createApiToken(databaseUrl, { name: 'admin', scope: 'admin' })).token;
    const sdk = (await createApiToken(databaseUrl, { name: 'sdk', scope: 'sdk:read' })).token;
    const url = `http://127.0.0.1:${port}`;
    const app = cp;
    const call = async <T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH', p: string, body?: unknown): Promise<T> => {
      const res = await app.app.inject({
        method,
        url: p,
        headers: { authorization: `Bearer ${admin}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      if (res.statusCode >= 300) throw new Error(`${method} ${p}: ${res.statusCode} ${res.body}`);
      return res.json() as T;
    };
    await call('POST', '/v1/clusters', {
      id: CLUSTER,
      primary: { url: primary.url(TENANT_DB) },
      replicas: replicas.map((r) => ({ id: r.id, url: r.server.url(TENANT_DB) })),
    });
    await call('PUT', '/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: CLUSTER }] });
    return {
      primary,
      replicas,
      cp,
      url,
      admin,
      sdk,
      call,
      async runtime(options = {}) {
        const runtime = createRuntime({ url, token: sdk, credentials: { user: primary.user, password }, ...options });
        runtimes.push(runtime);
        await runtime.ready(10_000);
        return runtime;
      },
      async sql<T>(text: string, values?: unknown[]) {
        const pg = await import('pg');
        const client = new pg.default.Client({ connectionString: primary.url(TENANT_DB) });
        await client.connect();
        try {
          return (await client.query(text, values)).rows as T[];
        } finally {
          await client.end();
        }
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
