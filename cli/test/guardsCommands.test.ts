// orgplane limits list|set|unset and cors list|add|remove, the real binary against a real
// control plane whose cluster is a real tenant database: what they print, and that bad
// input (negative rates, a zero window, a non-origin, an unknown org) is refused by name
// with its exit code and changes nothing.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ControlPlane, createApiToken } from '@orgplane/control-plane';
import { createTestDatabase } from '@orgplane/embedded';
import { ORG_ID_MAX } from '@orgplane/runtime/wire';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedOrgs } from '../src/lab/seed.js';
import { cliHarness, rowsOf, startControlPlane } from './cliHarness.js';

let cp: ControlPlane;
let url: string;
let controlDb: string;
let operator: string;
let dir: string;

const { cli, ok, api, refused } = cliHarness(() => ({ dir, url, token: operator }), snapshot);

function snapshot(): Promise<unknown> {
  return rowsOf(controlDb, {
    version: 'SELECT version::int FROM config_version',
    audit: 'SELECT count(*)::int AS n FROM audit_log',
    limits:
      'SELECT tier, org_id::int, subject, route_class, limit_count::int, window_seconds, burst::int, shadow FROM rate_limit_policies ORDER BY id',
    origins: 'SELECT origin FROM cors_origins ORDER BY origin',
  });
}

beforeAll(async () => {
  const adminUrl = inject('pgAdminUrl');
  controlDb = await createTestDatabase(adminUrl, 'control-plane');
  const tenant = await createTestDatabase(adminUrl, 'tenant');
  await seedOrgs(tenant, 1, 20);
  const admin = (await createApiToken(controlDb, { name: 'cli-admin', scope: 'admin' })).token;
  operator = (await createApiToken(controlDb, { name: 'cli-operator', scope: 'operator' })).token;
  ({ cp, url } = await startControlPlane(controlDb));
  const asAdmin = cliHarness(() => ({ dir, url, token: admin })).api;
  expect((await asAdmin('POST', '/v1/clusters', { id: 'primary-1', primary: { url: tenant } })).status).toBe(201);
  expect((await asAdmin('PUT', '/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }] })).status).toBe(200);
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-guards-cli-'));
  await chmod(dir, 0o755);
}, 120_000);

afterAll(async () => {
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('orgplane limits', { timeout: 120_000 }, () => {
  it('set, list and unset a tier default and an org override, each audited', async () => {
    const set = await ok([
      'limits',
      'set',
      '--tier',
      'standard',
      '--subject',
      'org',
      '--limit',
      '100',
      '--window',
      '1m',
      '--burst',
      '20',
      '--reason',
      'cap',
    ]);
    expect(set.policy).toEqual({
      tier: 'standard',
      orgId: null,
      subject: 'org',
      routeClass: 'all',
      limit: 100,
      windowSeconds: 60,
      burst: 20,
      shadow: false,
    });
    const org = await ok([
      'limits',
      'set',
      '--org',
      '7',
      '--subject',
      'user',
      '--route-class',
      'writes',
      '--limit',
      '5',
      '--window',
      '1s',
      '--shadow',
    ]);
    expect(org.policy).toMatchObject({ tier: null, orgId: 7, routeClass: 'writes', shadow: true, burst: 5 });
    expect(org.version).toBe(set.version + 1);
    expect((await ok(['limits', 'list', '--org', '7'])).policies).toEqual([org.policy]);
    const human = await cli(['limits', 'list']);
    expect(human.stdout).toMatch(/OWNER\s+SUBJECT\s+ROUTECLASS\s+LIMIT/);
    expect(human.stdout).toContain('org 7');
    expect(human.stdout).toContain('100/60s');
    const unset = await ok(['limits', 'unset', '--org', '7', '--subject', 'user', '--route-class', 'writes', '--yes']);
    expect(unset).toEqual({ version: org.version + 1, policy: org.policy });
    const audit = (await api('GET', '/v1/audit?limit=3')).body.entries as { action: string }[];
    expect(audit.map((e) => e.action)).toEqual(['limits.unset', 'limits.set', 'limits.set']);
  });

  it('refuses bad input by name, and changes nothing', async () => {
    await refused(['limits', 'set', '--tier', 'standard', '--limit', '-5', '--window', '1m'], 'INVALID_RATE_LIMIT', 2);
    await refused(['limits', 'set', '--tier', 'standard', '--limit', '0', '--window', '1m'], 'INVALID_RATE_LIMIT', 2);
    await refused(['limits', 'set', '--tier', 'standard', '--limit', '5', '--window', '0'], 'INVALID_WINDOW', 2);
    await refused(['limits', 'set', '--tier', 'standard', '--limit', '5', '--window', '2d'], 'INVALID_WINDOW', 2);
    await refused(['limits', 'set', '--tier', 'Gold', '--limit', '5', '--window', '1m'], 'INVALID_NAME', 2);
    await refused(['limits', 'set', '--tier', 'standard', '--subject', 'team', '--limit', '5', '--window', '1m'], 'INVALID_SUBJECT', 2);
    await refused(['limits', 'set', '--limit', '5', '--window', '1m'], 'INVALID_ARGUMENTS', 2);
    const unknown = await refused(['limits', 'set', '--org', '999', '--limit', '5', '--window', '1m'], 'ORG_NOT_FOUND', 4);
    expect(unknown.message).toContain('999');
    await refused(['limits', 'set', '--org', '-1', '--limit', '5', '--window', '1m'], 'INVALID_ORG_ID', 2);
    await refused(['limits', 'unset', '--tier', 'standard', '--route-class', 'nothing', '--yes'], 'RATE_LIMIT_NOT_FOUND', 4);
    await refused(['limits', 'unset', '--tier', 'standard'], 'CONFIRMATION_REQUIRED', 2);
  });
});

describe('orgplane cors', { timeout: 120_000 }, () => {
  it('add, list and remove an origin', async () => {
    const added = await ok(['cors', 'add', 'https://App.Example.com:443', '--reason', 'web app']);
    expect(added).toMatchObject({ origin: 'https://app.example.com', origins: ['https://app.example.com'] });
    expect((await ok(['cors', 'list'])).origins).toEqual(['https://app.example.com']);
    expect((await cli(['cors', 'list'])).stdout).toContain('https://app.example.com');
    const removed = await ok(['cors', 'remove', 'https://app.example.com', '--yes']);
    expect(removed).toEqual({ version: added.version + 1, origin: 'https://app.example.com', origins: [] });
  });

  it('refuses what is not an origin, and changes nothing', async () => {
    for (const bad of ['app.example.com', 'https://app.example.com/', 'https://*.example.com', 'ftp://x.example.com']) {
      await refused(['cors', 'add', bad], 'INVALID_ORIGIN', 2);
    }
    await refused(['cors', 'remove', 'https://never.example.com', '--yes'], 'CORS_ORIGIN_NOT_FOUND', 4);
    await ok(['cors', 'add', 'https://twice.example.com']);
    await refused(['cors', 'add', 'https://twice.example.com'], 'ALREADY_EXISTS', 5);
  });
});
