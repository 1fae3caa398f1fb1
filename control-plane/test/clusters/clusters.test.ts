import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, ORG_ID_MAX, startFixture } from '../helpers.js';

const PASSWORD = 'Sup3r-Secret-Pw';
let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

describe('clusters', () => {
  it('registers a cluster and answers it without the password, audited with before/after', async () => {
    const res = await f.api.post('/v1/clusters', {
      id: 'primary-1',
      primary: { url: `postgres://app:${PASSWORD}@db1.internal:5432/app?sslmode=require` },
      replicas: [{ id: 'replica-1a', url: `postgresql://ro:${PASSWORD}@db1r.internal:5432/app?password=${PASSWORD}` }],
      reason: 'new region',
    });
    expect(res.status).toBe(201);
    const cluster = {
      id: 'primary-1',
      state: 'active',
      primary: { url: 'postgres://app@db1.internal:5432/app?sslmode=require' },
      replicas: [{ id: 'replica-1a', url: 'postgresql://ro@db1r.internal:5432/app' }],
    };
    expect(res.body).toEqual({ version: 1, cluster });
    const [stored] = await f.sql('SELECT primary_url FROM clusters');
    expect(stored.primary_url).toContain(PASSWORD); // the executor needs credentials

    const audit = await f.api.get('/v1/audit?action=cluster.create');
    expect(audit.body.entries).toEqual([
      {
        id: expect.any(Number),
        actor: 'test-admin',
        tokenId: expect.any(String),
        action: 'cluster.create',
        reason: 'new region',
        before: null,
        after: cluster,
        version: 1,
        createdAt: expect.any(String),
      },
    ]);
  });

  it('lists and gets clusters with range and placement counts', async () => {
    await f.api.post('/v1/clusters', { id: 'primary-2', primary: { url: `postgres://app:${PASSWORD}@db2.internal/app` } });
    // Pinned before there is a map, the org is routed nowhere before: the pin reroutes
    // nothing, so no cluster is asked (these URLs lead nowhere).
    await f.api.put('/v1/placements/42', { clusterId: 'primary-2' });
    await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }] });

    const list = await f.api.get('/v1/clusters');
    expect(list.body.version).toBe(4);
    expect(list.body.clusters.map((c: { id: string }) => c.id)).toEqual(['primary-1', 'primary-2']);
    expect((await f.api.get('/v1/clusters/primary-1')).body).toMatchObject({ id: 'primary-1', rangeCount: 1, placementCount: 0 });
    expect((await f.api.get('/v1/clusters/primary-2')).body).toMatchObject({ id: 'primary-2', rangeCount: 0, placementCount: 1 });
    expect((await f.api.get('/v1/clusters/nope')).body.error.code).toBe('CLUSTER_NOT_FOUND');
  });

  it('refuses a duplicate cluster or replica id with 409 ALREADY_EXISTS and changes nothing', async () => {
    const [{ version }] = await f.sql('SELECT version FROM config_version');
    const dup = await f.api.post('/v1/clusters', { id: 'primary-1', primary: { url: 'postgres://h/db' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('ALREADY_EXISTS');
    const dupReplica = await f.api.post('/v1/clusters/primary-2/replicas', { id: 'replica-1a', url: 'postgres://h/db' });
    expect(dupReplica.status).toBe(409);
    expect(dupReplica.body.error.code).toBe('ALREADY_EXISTS');
    expect(await f.sql('SELECT version FROM config_version')).toEqual([{ version }]);
  });

  it('refuses bad ids and URLs with INVALID_INPUT, never echoing the URL', async () => {
    for (const body of [
      { id: 'Primary_1', primary: { url: 'postgres://h/db' } },
      { id: '-x', primary: { url: 'postgres://h/db' } },
      { id: 'p3', primary: { url: `mysql://u:${PASSWORD}@h/db` } },
      { id: 'p3', primary: { url: `not a url ${PASSWORD}` } },
      {
        id: 'p3',
        primary: { url: 'postgres://h/db' },
        replicas: [
          { id: 'r', url: 'postgres://h/db' },
          { id: 'r', url: 'postgres://h/db' },
        ],
      },
    ]) {
      const res = await f.api.post('/v1/clusters', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
    }
    expect(await f.sql(`SELECT id FROM clusters WHERE id = 'p3'`)).toEqual([]);
  });

  it('adds and removes replicas', async () => {
    const added = await f.api.post('/v1/clusters/primary-2/replicas', { id: 'replica-2a', url: `postgres://ro:${PASSWORD}@db2r/app` });
    expect(added.status).toBe(201);
    expect(added.body.cluster.replicas).toEqual([{ id: 'replica-2a', url: 'postgres://ro@db2r/app' }]);
    expect((await f.api.post('/v1/clusters/nope/replicas', { id: 'r9', url: 'postgres://h/db' })).body.error.code).toBe(
      'CLUSTER_NOT_FOUND',
    );

    const removed = await f.api.delete('/v1/clusters/primary-2/replicas/replica-2a?reason=decommissioned');
    expect(removed.status).toBe(200);
    expect(removed.body.cluster.replicas).toEqual([]);
    expect(removed.body.version).toBe(added.body.version + 1);
    const missing = await f.api.delete('/v1/clusters/primary-2/replicas/replica-2a');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');

    const [entry] = (await f.api.get('/v1/audit?action=replica.remove')).body.entries;
    expect(entry.reason).toBe('decommissioned');
    expect(entry.before.replicas).toEqual([{ id: 'replica-2a', url: 'postgres://ro@db2r/app' }]);
    expect(entry.after.replicas).toEqual([]);
  });

  it('refuses to retire a cluster that still serves orgs (409 CONFLICT, the hint moves the data), then retires one that is empty', async () => {
    const [{ version }] = await f.sql('SELECT version FROM config_version');
    const refused = await f.api.patch('/v1/clusters/primary-2', { state: 'retired' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { rangeCount: 0, placementCount: 1 } });
    // The hint moves the rows, not the map: assigning the ranges first would strand them.
    expect(refused.body.error.hint).toContain('orgplane orgs move --from primary-2 --to <cluster> --percent 100');
    expect(refused.body.error.hint).not.toMatch(/^assign/);
    expect(await f.sql('SELECT version FROM config_version')).toEqual([{ version }]);

    expect(
      (await f.api.post('/v1/clusters', { id: 'primary-3', primary: { url: `postgres://app:${PASSWORD}@db3.internal/app` } })).status,
    ).toBe(201);
    const retired = await f.api.patch('/v1/clusters/primary-3', { state: 'retired', reason: 'empty' });
    expect(retired.status).toBe(200);
    expect(retired.body.cluster.state).toBe('retired');
  });

  it('lets a retired cluster receive neither ranges nor placements (409 CLUSTER_NOT_ACCEPTING_ORGS)', async () => {
    const [{ version }] = await f.sql('SELECT version FROM config_version');
    const ranges = await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-3' }] });
    expect(ranges.status).toBe(409);
    expect(ranges.body.error).toMatchObject({ code: 'CLUSTER_NOT_ACCEPTING_ORGS', details: { clusterId: 'primary-3', state: 'retired' } });
    const pin = await f.api.put('/v1/placements/7', { clusterId: 'primary-3' });
    expect(pin.status).toBe(409);
    expect(pin.body.error.code).toBe('CLUSTER_NOT_ACCEPTING_ORGS');
    const assign = await f.api.post('/v1/shard-map/assign', { lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-3' });
    expect(assign.status).toBe(409);
    expect(assign.body.error.code).toBe('CLUSTER_NOT_ACCEPTING_ORGS');
    expect(await f.sql('SELECT version FROM config_version')).toEqual([{ version }]);
  });

  it('never shows a password: not in any response, the snapshot, the audit log, the history or the log', async () => {
    // Make sure every reader has been called at least once.
    await f.api.get('/v1/config');
    await f.api.get('/v1/shard-map/history');
    await f.api.get('/v1/audit?limit=1000');
    await f.api.get('/v1/clusters');
    expect(f.api.transcript.length).toBeGreaterThan(20);
    for (const body of f.api.transcript) expect(body).not.toContain(PASSWORD);
    expect(JSON.stringify(await f.sql('SELECT before, after FROM audit_log'))).not.toContain(PASSWORD);
    expect(JSON.stringify(await f.sql('SELECT delta FROM config_changes'))).not.toContain(PASSWORD);
    expect(f.log.lines.length).toBeGreaterThan(10);
    expect(f.log.text).not.toContain(PASSWORD);
    expect(f.log.text).not.toContain(f.tokens.admin);
    const dbPassword = decodeURIComponent(new URL(f.databaseUrl).password);
    expect(dbPassword.length).toBeGreaterThan(0);
    expect(f.log.text).not.toContain(dbPassword);
  });
});
