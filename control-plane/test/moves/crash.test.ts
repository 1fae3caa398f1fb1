// Moves survive crashes: the control-plane process SIGKILLed mid-copy and started again,
// and the destination primary restarted mid-copy. A writer workload runs throughout,
// routed by the control DB's map (as a runtime holding the map would, even while the
// control plane is down).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, freePort, PostgresServer } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { createApiToken } from '../../src/features/auth/createApiToken.js';
import { type Fixture, type Json, ORG_ID_MAX, startFixture, waitFor } from '../helpers.js';
import { ControlPlaneProcess, MAIN, routeOf } from './controlPlaneProcess.js';
import { diffOrg, MoveWorkload, orgCounts, seedOrg } from './workload.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Workloads started here, stopped before their pools end even when a test failed. */
const loads: MoveWorkload[] = [];
const stopLoads = () => Promise.all(loads.map((l) => l.stop()));

describe('the control-plane process SIGKILLed mid-copy', () => {
  const orgId = 301;
  let cp: ControlPlaneProcess;
  let control: pg.Pool;
  const tenants: Record<string, pg.Pool> = {};
  let token: string;

  const api = (method: string, url: string, body?: unknown): Promise<Json> => cp.call(token, method, url, body);

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -b\` first`);
    const databaseUrl = await createTestDatabase(inject('pgAdminUrl'), 'control-plane');
    control = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    token = (await createApiToken(databaseUrl, { name: 'crash-test', scope: 'operator' })).token;
    const admin = (await createApiToken(databaseUrl, { name: 'crash-admin', scope: 'admin' })).token;
    cp = new ControlPlaneProcess(databaseUrl);
    await cp.start();
    for (const id of ['tenant-a', 'tenant-b']) {
      const url = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
      tenants[id] = new pg.Pool({ connectionString: url, max: 8 });
      const res = await fetch(`${cp.url}/v1/clusters`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, primary: { url } }),
      });
      expect(res.status).toBe(201);
    }
    await fetch(`${cp.url}/v1/shard-map/ranges`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'tenant-a' }] }),
    });
  });
  afterAll(async () => {
    await stopLoads();
    await cp?.kill();
    await control?.end();
    for (const pool of Object.values(tenants)) await pool.end();
  });

  it('resumes the copy at the first table not copied, and ends with every acknowledged write on the target', async () => {
    await seedOrg(tenants['tenant-a']!, orgId, { rows: 40_000 });
    const load = new MoveWorkload({ orgId, writers: 3, pauseMs: 3, owner: async () => tenants[await routeOf(control, orgId)]! });
    loads.push(load);
    load.start();
    const created = await api('POST', '/v1/moves', { orgIds: [orgId], to: 'tenant-b', graceSeconds: 3600 });
    expect(created.status).toBe(202);
    const id = created.body.moves[0].id;

    // Kill once at least one table is copied and the copy is still going.
    let before: Json;
    await waitFor(
      'a move copying with a table done',
      async () => {
        before = (await api('GET', `/v1/moves/${id}`)).body;
        if (!['pending', 'preparing', 'copying'].includes(before.state)) throw new Error(`the move got to ${before.state} before the kill`);
        return before.state === 'copying' && before.tables.some((t: Json) => t.copiedAt !== null);
      },
      45_000,
    );
    await cp.kill();
    const atKill = (await control.query('SELECT state FROM moves WHERE id = $1', [id])).rows[0].state;
    expect(atKill).toBe('copying');
    const copiedBefore = before.tables.filter((t: Json) => t.copiedAt !== null);
    await sleep(300);
    await cp.start();

    // Stop writing once it is catching up, so that source and target can be compared exactly.
    await waitFor(
      'the resumed move to catch up',
      async () => {
        const state = (await api('GET', `/v1/moves/${id}`)).body.state;
        if (state === 'failed') throw new Error('the move failed');
        return !['copying', 'preparing', 'pending'].includes(state);
      },
      45_000,
    );
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    let done: Json;
    await waitFor(
      'the move to flip',
      async () => {
        done = (await api('GET', `/v1/moves/${id}`)).body;
        if (done.state === 'failed') throw new Error(`the move failed: ${done.error}`);
        return done.state === 'flipped';
      },
      45_000,
    );
    // Tables copied before the kill were not copied again.
    for (const table of copiedBefore) expect(done.tables.find((t: Json) => t.table === table.table).copiedAt).toBe(table.copiedAt);
    expect(await load.check(tenants['tenant-b']!)).toEqual([]);
    expect(await diffOrg(tenants['tenant-a']!, tenants['tenant-b']!, orgId)).toEqual([]);
    expect((await api('POST', `/v1/moves/${id}/complete`, {})).status).toBe(200);
    await waitFor('the move to complete', async () => (await api('GET', `/v1/moves/${id}`)).body.state === 'completed', 45_000);
    expect(Object.values(await orgCounts(tenants['tenant-a']!, orgId)).every((n) => n === 0)).toBe(true);
    expect(await load.check(tenants['tenant-b']!)).toEqual([]);
  }, 240_000);
});

describe('the destination primary restarted mid-copy', () => {
  const orgId = 401;
  let f: Fixture;
  let root: string;
  let target: PostgresServer;
  let source: pg.Pool;
  let targetPool: pg.Pool;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'orgplane-move-target-'));
    target = new PostgresServer({ dataDir: path.join(root, 'data'), port: await freePort(), password: 'target-pw', fast: true });
    await target.init();
    await target.start();
    const admin = new pg.Client({ connectionString: target.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE tenant');
    await admin.end();
    await migrate(target.url('tenant'), 'tenant');
    f = await startFixture({
      env: { ORGPLANE_MOVE_POLL_MS: '50', ORGPLANE_MOVE_RETRY_BASE_MS: '200', ORGPLANE_MOVE_MAX_FAILURES: '4' },
    });
    const sourceUrl = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    source = new pg.Pool({ connectionString: sourceUrl, max: 8 });
    targetPool = new pg.Pool({ connectionString: target.url('tenant'), max: 8 });
    targetPool.on('error', () => {});
    expect((await f.api.post('/v1/clusters', { id: 'tenant-a', primary: { url: sourceUrl } })).status).toBe(201);
    expect((await f.api.post('/v1/clusters', { id: 'tenant-c', primary: { url: target.url('tenant') } })).status).toBe(201);
    await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'tenant-a' }] });
  });
  afterAll(async () => {
    await stopLoads();
    await f?.close();
    await source?.end();
    await targetPool?.end();
    await target?.stop('immediate').catch(() => {});
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('keeps the org on the source while the target is down, then resumes and moves it intact', async () => {
    await seedOrg(source, orgId, { rows: 40_000 });
    const pools: Record<string, pg.Pool> = { 'tenant-a': source, 'tenant-c': targetPool };
    const load = new MoveWorkload({
      orgId,
      writers: 3,
      pauseMs: 3,
      owner: async () => pools[(await f.api.get(`/v1/orgs/${orgId}/location`)).body.clusterId]!,
    });
    loads.push(load);
    load.start();
    const created = await f.api.post('/v1/moves', { orgIds: [orgId], to: 'tenant-c', graceSeconds: 3600 });
    expect(created.status, created.text).toBe(202);
    const id = created.body.moves[0].id;
    await waitFor('the copy to be under way', async () => (await f.api.get(`/v1/moves/${id}`)).body.progress.rowsCopied > 0, 45_000);
    await target.stop('immediate');
    // While the target is down the move retries or fails; the source keeps serving the org.
    await waitFor(
      'a failed step',
      async () => {
        const m = (await f.api.get(`/v1/moves/${id}`)).body;
        return m.state === 'failed' || m.error !== undefined;
      },
      45_000,
    );
    const down = (await f.api.get(`/v1/moves/${id}`)).body;
    expect(['copying', 'failed']).toContain(down.state);
    expect((await f.api.get(`/v1/orgs/${orgId}/location`)).body).toMatchObject({ clusterId: 'tenant-a' });
    const acked = load.stats.acknowledged;
    await sleep(300);
    expect(load.stats.acknowledged).toBeGreaterThan(acked);
    expect(load.stats.errors).toEqual([]);

    await target.start();
    const now = (await f.api.get(`/v1/moves/${id}`)).body;
    if (now.state === 'failed') expect((await f.api.post(`/v1/moves/${id}/resume`, { reason: 'target is back' })).status).toBe(200);
    await waitFor(
      'the move to flip',
      async () => {
        const m = (await f.api.get(`/v1/moves/${id}`)).body;
        if (m.state === 'failed') throw new Error(`failed again: ${m.error}`);
        return m.state === 'flipped';
      },
      90_000,
    );
    await sleep(300);
    const stats = await load.stop();
    expect(stats.errors).toEqual([]);
    expect(await load.check(targetPool)).toEqual([]);
    expect((await f.api.get(`/v1/orgs/${orgId}/location`)).body).toMatchObject({ clusterId: 'tenant-c' });
    expect((await f.api.post(`/v1/moves/${id}/complete`, {})).status).toBe(200);
    await waitFor('the move to complete', async () => (await f.api.get(`/v1/moves/${id}`)).body.state === 'completed', 45_000);
    expect(Object.values(await orgCounts(source, orgId)).every((n) => n === 0)).toBe(true);
    expect(await load.check(targetPool)).toEqual([]);
  }, 300_000);
});
