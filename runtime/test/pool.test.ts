// runtime.pool() against the run's real Postgres (test/globalSetup.ts), which demands a password.
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { connectionWithCredentials, createRuntime, type Runtime } from '../src/runtime.js';
import { ORG_ID_MAX, type WireCluster } from '../src/wire.js';
import { FakeControlPlane, TOKEN } from './fakeControlPlane.js';
import { until } from './helpers.js';

const admin = new URL(inject('pgAdminUrl'));
const user = decodeURIComponent(admin.username);
const password = decodeURIComponent(admin.password);

function urlWithout(parts: { user?: boolean; database?: string }): string {
  const url = new URL(admin);
  url.password = '';
  if (parts.user) url.username = '';
  if (parts.database) url.pathname = `/${parts.database}`;
  return url.toString();
}

function clusterAt(id: string, url: string): WireCluster {
  return { id, state: 'active', primary: { url }, replicas: [] };
}

let server: FakeControlPlane;
let runtime: Runtime | undefined;

beforeEach(async () => {
  server = new FakeControlPlane({
    version: 1,
    clusters: [clusterAt('primary-1', urlWithout({})), clusterAt('primary-2', urlWithout({ user: true }))],
    ranges: [
      { lo: 0, hi: 999, clusterId: 'primary-1' },
      { lo: 1000, hi: ORG_ID_MAX, clusterId: 'primary-2' },
    ],
  });
  await server.start();
});

afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
  await server.stop();
});

describe('runtime.pool', () => {
  it('one pool per cluster, on its primary, with the credentials the host supplies', async () => {
    const asked: string[] = [];
    runtime = createRuntime({
      url: server.url,
      token: TOKEN,
      credentials: (clusterId) => {
        asked.push(clusterId);
        return clusterId === 'primary-2' ? { user, password } : { password };
      },
      poolOptions: { max: 2, application_name: 'orgplane-runtime-test' },
    });
    await runtime.ready(10_000);
    const writes = runtime.pool(5, { intent: 'write' });
    expect(runtime.pool(999, { intent: 'read' })).toBe(writes); // reads use the primary for now
    const other = runtime.pool(1000, { intent: 'write' });
    expect(other).not.toBe(writes);
    const [a, b] = await Promise.all([
      writes.query<{ user: string; app: string }>("select current_user as user, current_setting('application_name') as app"),
      other.query<{ user: string }>('select current_user as user'),
    ]);
    expect(a.rows[0]).toEqual({ user, app: 'orgplane-runtime-test' });
    expect(b.rows[0]?.user).toBe(user);
    expect(asked).toEqual(['primary-1', 'primary-2']);
  });

  it('without credentials the primary refuses the connection', async () => {
    runtime = createRuntime({ url: server.url, token: TOKEN });
    runtime.on('error', () => {});
    await runtime.ready(10_000);
    // Refused for want of a password, not for any other reason (a wrong host, a wrong db).
    await expect(runtime.pool(5, { intent: 'write' }).query('select 1')).rejects.toThrow(/password/i);
  });

  it('a new primary URL in the config retires the old pool; close() ends the rest', async () => {
    runtime = createRuntime({ url: server.url, token: TOKEN, credentials: { user, password } });
    await runtime.ready(10_000);
    const before = runtime.pool(5, { intent: 'write' });
    await before.query('select 1');
    server.commit({
      action: 'cluster.update',
      clusters: [clusterAt('primary-1', urlWithout({ database: 'template1' })), clusterAt('primary-2', urlWithout({ user: true }))],
    });
    await until('the cluster change', () => runtime?.version === 2);
    await until('the old pool ended', () => before.ended);
    const after = runtime.pool(5, { intent: 'write' });
    expect(after).not.toBe(before);
    expect((await after.query<{ db: string }>('select current_database() as db')).rows[0]?.db).toBe('template1');
    await runtime.close();
    expect(after.ended).toBe(true);
    expect(() => runtime?.pool(5, { intent: 'write' })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('refuses an unknown intent and routes unknown clusters to CLUSTER_UNKNOWN', async () => {
    server.ranges = [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-9' }];
    runtime = createRuntime({ url: server.url, token: TOKEN });
    await runtime.ready(10_000);
    expect(() => runtime?.pool(5, { intent: 'delete' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => runtime?.pool(5, { intent: 'read' })).toThrow(expect.objectContaining({ code: 'CLUSTER_UNKNOWN' }));
  });
});

describe('connectionWithCredentials', () => {
  it('puts percent-encoded credentials into the URL, replacing any user there', () => {
    const config = connectionWithCredentials('postgres://app@db1:5432/main?sslmode=require', { user: 'svc', password: 'p@ss:w/rd%41' });
    const url = new URL(config.connectionString!);
    expect(decodeURIComponent(url.username)).toBe('svc');
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd%41');
    expect(url.host).toBe('db1:5432');
    expect(url.search).toBe('?sslmode=require');
  });
});
