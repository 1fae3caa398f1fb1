// replicas list / drain / undrain / add / remove / settings and clusters add / update:
// the real `orgplane` binary against a real control plane. Bad input is refused by name,
// with its exit code, and changes nothing.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ControlPlane, createApiToken } from '@orgplane/control-plane';
import { createTestDatabase } from '@orgplane/embedded';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cliHarness, rowsOf, startControlPlane } from './cliHarness.js';

let cp: ControlPlane;
let url: string;
let controlDb: string;
let admin: string;
let dir: string;

const { cli, ok, refused } = cliHarness(() => ({ dir, url, token: admin }), snapshot);

function snapshot(): Promise<unknown> {
  return rowsOf(controlDb, {
    version: 'SELECT version::int FROM config_version',
    audit: 'SELECT count(*)::int AS n FROM audit_log',
    clusters: 'SELECT id, state, primary_url FROM clusters ORDER BY id',
    replicas: 'SELECT id, cluster_id, url FROM replicas ORDER BY id',
    health: 'SELECT replica_id, drained FROM replica_health ORDER BY replica_id',
    settings: 'SELECT lag_warn_seconds, lag_critical_seconds FROM replica_health_settings',
  });
}

beforeAll(async () => {
  controlDb = await createTestDatabase(inject('pgAdminUrl'), 'control-plane');
  admin = (await createApiToken(controlDb, { name: 'cli-admin', scope: 'admin' })).token;
  ({ cp, url } = await startControlPlane(controlDb));
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-replicas-cli-'));
  await chmod(dir, 0o755);
}, 120_000);

afterAll(async () => {
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('clusters add / update', () => {
  it('registers a cluster with replicas, never printing a password', async () => {
    const res = await cli([
      'clusters',
      'add',
      'primary-1',
      '--primary-url',
      'postgres://app:s3cret@db1:5432/app',
      '--replica',
      'primary-1-replica-1=postgres://app:s3cret@db1r1:5432/app',
      '--reason',
      'new hardware',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('cluster primary-1 registered (active, primary-1-replica-1');
    expect(res.stdout + res.stderr).not.toContain('s3cret');
    const changed = await ok(['clusters', 'update', 'primary-1', '--state', 'draining']);
    expect(changed.cluster.state).toBe('draining');
    await ok(['clusters', 'update', 'primary-1', '--state', 'active']);
  });

  it('refuses a primary URL that is not a Postgres URL, an unknown cluster, and a bad state', async () => {
    const error = await refused(['clusters', 'add', 'primary-9', '--primary-url', 'http://db9/app'], 'INVALID_INPUT', 2);
    expect(JSON.stringify(error)).not.toContain('db9');
    await refused(
      ['clusters', 'add', 'primary-9', '--primary-url', 'postgres://db9/app', '--replica', 'r=mysql://x/y'],
      'INVALID_INPUT',
      2,
    );
    await refused(['clusters', 'update', 'nope', '--state', 'draining'], 'CLUSTER_NOT_FOUND', 4);
    await refused(['clusters', 'update', 'primary-1', '--state', 'gone'], 'INVALID_ARGUMENTS', 2);
  });
});

describe('replicas', () => {
  it('add, list (--cluster), drain, undrain, remove', async () => {
    const added = await ok([
      'replicas',
      'add',
      'primary-1-replica-2',
      '--cluster',
      'primary-1',
      '--url',
      'postgres://app:s3cret@db1r2/app',
    ]);
    expect(added.cluster.replicas.map((r: { id: string }) => r.id)).toEqual(['primary-1-replica-1', 'primary-1-replica-2']);
    const listed = await ok(['replicas', 'list', '--cluster', 'primary-1']);
    expect(listed.replicas.map((r: { id: string; state: string }) => [r.id, r.state])).toEqual([
      ['primary-1-replica-1', 'unknown'],
      ['primary-1-replica-2', 'unknown'],
    ]);
    const table = await cli(['replicas', 'list']);
    expect(table.stdout).toMatch(/primary-1-replica-1\s+primary-1\s+unknown/);
    const drained = await ok(['replicas', 'drain', 'primary-1-replica-2', '--reason', 'disk swap']);
    expect(drained.replica).toMatchObject({ id: 'primary-1-replica-2', state: 'draining' });
    const undrained = await ok(['replicas', 'undrain', 'primary-1-replica-2']);
    expect(undrained.replica.state).toBe('unknown');
    const removed = await ok(['replicas', 'remove', 'primary-1-replica-2', '--yes']);
    expect(removed.cluster.replicas.map((r: { id: string }) => r.id)).toEqual(['primary-1-replica-1']);
  });

  it('refuses an unknown replica or cluster, a double drain, and a URL that is not Postgres', async () => {
    await refused(['replicas', 'drain', 'nope'], 'REPLICA_NOT_FOUND', 4);
    await refused(['replicas', 'undrain', 'primary-1-replica-1'], 'REPLICA_NOT_DRAINING', 5);
    await ok(['replicas', 'drain', 'primary-1-replica-1']);
    await refused(['replicas', 'drain', 'primary-1-replica-1'], 'REPLICA_ALREADY_DRAINING', 5);
    await ok(['replicas', 'undrain', 'primary-1-replica-1']);
    await refused(['replicas', 'list', '--cluster', 'nope'], 'CLUSTER_NOT_FOUND', 4);
    await refused(['replicas', 'add', 'r9', '--cluster', 'nope', '--url', 'postgres://h/db'], 'CLUSTER_NOT_FOUND', 4);
    await refused(['replicas', 'add', 'r9', '--cluster', 'primary-1', '--url', 'https://h/db'], 'INVALID_INPUT', 2);
    await refused(['replicas', 'remove', 'nope', '--yes'], 'REPLICA_NOT_FOUND', 4);
  });

  it('settings: shows, changes, and refuses a warning not below the critical lag', async () => {
    expect(await ok(['replicas', 'settings'])).toMatchObject({ lagWarnSeconds: 5, lagCriticalSeconds: 10 });
    await refused(['replicas', 'settings', '--lag-warn-seconds', '10'], 'INVALID_THRESHOLDS', 2);
    await refused(['replicas', 'settings', '--lag-warn-seconds', '12', '--lag-critical-seconds', '11'], 'INVALID_THRESHOLDS', 2);
    await refused(['replicas', 'settings', '--lag-warn-seconds', 'soon'], 'INVALID_INPUT', 2);
    expect(await ok(['replicas', 'settings', '--lag-warn-seconds', '4', '--reason', 'tighter'])).toMatchObject({ lagWarnSeconds: 4 });
  });
});
