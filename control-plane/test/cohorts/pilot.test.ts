// Pilot selection against real tenant databases (two clusters), through HTTP: strata,
// determinism for a seed, exclusions, ownership by the shard map, bad input, cohorts.

import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ArrayOrgStatsSource, type OrgStats } from '../../src/features/cohorts/OrgStatsSource.js';
import { apportion, pilotHash, selectPilot } from '../../src/features/cohorts/PilotSelector.js';
import { type Fixture, type Json, ORG_ID_MAX, startFixture } from '../helpers.js';

let f: Fixture;
const tenants: pg.Pool[] = [];

/** Orgs lo..hi on one tenant DB: sizes and activity vary with the id. */
async function seedTenant(pool: pg.Pool, lo: number, hi: number): Promise<void> {
  await pool.query(
    `INSERT INTO organizations (org_id, name, last_active_at)
     SELECT id, 'org ' || id, now() - (id % 5) * interval '9 days' FROM generate_series($1::bigint, $2::bigint) id`,
    [lo, hi],
  );
  await pool.query(
    `INSERT INTO properties (org_id, property_id, name)
     SELECT id, p, 'p' FROM generate_series($1::bigint, $2::bigint) id, generate_series(1, (id % 3)::int * 10) p`,
    [lo, hi],
  );
  await pool.query(
    `INSERT INTO users (org_id, user_id, email)
     SELECT id, u, u || '@x' FROM generate_series($1::bigint, $2::bigint) id, generate_series(1, (id % 7)::int * 15) u`,
    [lo, hi],
  );
}

const POPULATION = 1200;

beforeAll(async () => {
  f = await startFixture();
  const urls: string[] = [];
  for (let i = 0; i < 2; i++) {
    const url = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    urls.push(url);
    tenants.push(new pg.Pool({ connectionString: url, max: 2 }));
  }
  // primary-1 owns 0..999 (and pins org 1500), primary-2 owns the rest.
  await seedTenant(tenants[0]!, 0, 999);
  await seedTenant(tenants[1]!, 1000, 1199);
  // A copy of org 1500 left on primary-2 after its move to primary-1, and org 5's stale copy on primary-2.
  await seedTenant(tenants[0]!, 1500, 1500);
  await seedTenant(tenants[1]!, 1500, 1500);
  await seedTenant(tenants[1]!, 5, 5);
  for (const [i, url] of urls.entries()) {
    const res = await f.api.post('/v1/clusters', { id: `primary-${i + 1}`, primary: { url } });
    expect(res.status, res.text).toBe(201);
  }
  await f.api.put('/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999, clusterId: 'primary-1' },
      { lo: 1000, hi: ORG_ID_MAX, clusterId: 'primary-2' },
    ],
  });
  await f.api.put('/v1/placements/1500', { clusterId: 'primary-1' });
});
afterAll(async () => {
  for (const pool of tenants) await pool.end();
  await f?.close();
});

const select = (body: Json) => f.api.as(f.tokens.rollout).post('/v1/pilot/select', body);
const members = async (name: string): Promise<number[]> => (await f.api.get(`/v1/cohorts/${name}?limit=100000`)).body.orgIds;

async function counts(): Promise<Json> {
  const [row] = await f.sql(
    `SELECT (SELECT count(*)::int FROM cohorts) AS cohorts, (SELECT count(*)::int FROM cohort_members) AS members,
            (SELECT count(*)::int FROM audit_log) AS audit, (SELECT version::int FROM config_version) AS version`,
  );
  return row;
}

describe('POST /v1/pilot/select', () => {
  it('draws a stratified sample across both clusters and reports each stratum against the population', async () => {
    const res = await select({ name: 'pilot-1', count: 120, seed: 42, reason: 'checkout pilot' });
    expect(res.status, res.text).toBe(201);
    expect(res.body.cohort).toEqual({ name: 'pilot-1', size: 120, seed: 42 });
    const strata: Json[] = res.body.strata;
    // Every org counted once, by its owner: 1,200 plus the pinned org 1500; the stale copies are not.
    expect(strata.reduce((n, s) => n + s.population, 0)).toBe(POPULATION + 1);
    expect(strata.reduce((n, s) => n + s.selected, 0)).toBe(120);
    expect(new Set(strata.map((s) => s.size))).toEqual(new Set(['0-15', '16-63', '64-255']));
    expect(new Set(strata.map((s) => s.activity))).toEqual(new Set(['<=7d', '<=30d', '>30d']));
    for (const s of strata) {
      // Largest remainder: each stratum within one org of its exact quota.
      expect(Math.abs(s.selected - (120 * s.population) / (POPULATION + 1))).toBeLessThan(1);
      expect(Math.abs(s.selectedShare - s.populationShare)).toBeLessThanOrEqual(1 / 120 + 0.0001);
    }
    const ids = await members('pilot-1');
    expect(ids).toHaveLength(120);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids.some((id) => id < 1000)).toBe(true);
    expect(ids.some((id) => id >= 1000)).toBe(true);
    const [entry] = (await f.api.get('/v1/audit?action=cohort.create&limit=1')).body.entries;
    expect(entry).toMatchObject({
      actor: 'test-rollout',
      reason: 'checkout pilot',
      version: null,
      after: { name: 'pilot-1', size: 120, seed: 42 },
    });
  });

  it('is deterministic for a seed, and another seed draws another sample', async () => {
    await select({ name: 'pilot-1-again', count: 120, seed: 42 });
    await select({ name: 'pilot-2', count: 120, seed: 43 });
    const [a, again, b] = [await members('pilot-1'), await members('pilot-1-again'), await members('pilot-2')];
    expect(again).toEqual(a);
    expect(b).not.toEqual(a);
    expect(a.filter((id) => b.includes(id)).length).toBeLessThan(60);
  });

  it('honours exclusions', async () => {
    const excluded = await members('pilot-1');
    const res = await select({ name: 'pilot-3', count: 120, seed: 42, exclude: excluded });
    expect(res.status, res.text).toBe(201);
    expect(res.body.strata.reduce((n: number, s: Json) => n + s.population, 0)).toBe(POPULATION + 1 - 120);
    const ids = await members('pilot-3');
    expect(ids).toHaveLength(120);
    expect(ids.filter((id) => excluded.includes(id))).toEqual([]);
  });

  it('refuses bad input with named errors and stores nothing', async () => {
    const before = await counts();
    const bad = async (body: Json, code: string, status = 400) => {
      const res = await select(body);
      expect(res.status, res.text).toBe(status);
      expect(res.body.error.code).toBe(code);
    };
    await bad({ name: 'x', count: 0, seed: 1 }, 'INVALID_INPUT');
    await bad({ name: 'x', count: 1.5, seed: 1 }, 'INVALID_INPUT');
    await bad({ name: 'x', count: 10, seed: -1 }, 'INVALID_INPUT');
    await bad({ name: 'x', count: 10 }, 'INVALID_INPUT');
    await bad({ name: 'bad name', count: 10, seed: 1 }, 'INVALID_INPUT');
    await bad({ name: 'x', count: 10, seed: 1, exclude: [-4] }, 'INVALID_ORG_ID');
    await bad({ name: 'x', count: 10, seed: 1, exclude: ['12'] }, 'INVALID_ORG_ID');
    await bad({ name: 'x', count: POPULATION + 2, seed: 1 }, 'INVALID_INPUT');
    await bad({ name: 'pilot-1', count: 10, seed: 1 }, 'ALREADY_EXISTS', 409);
    expect((await f.api.as(f.tokens.operator).post('/v1/pilot/select', { name: 'x', count: 1, seed: 1 })).status).toBe(403);
    expect(await counts()).toEqual(before);
  });

  it('names a cluster it cannot read (503 CLUSTER_UNREACHABLE) without echoing its URL', async () => {
    await f.api.post('/v1/clusters', { id: 'primary-9', primary: { url: 'postgres://app:s3cret-pw@127.0.0.1:1/none' } });
    const before = await counts();
    const res = await select({ name: 'x', count: 10, seed: 1 });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: 'CLUSTER_UNREACHABLE', details: { clusterId: 'primary-9' } });
    expect(res.text).not.toContain('s3cret-pw');
    expect(f.log.text).not.toContain('s3cret-pw');
    expect(await counts()).toEqual(before);
    // A retired cluster serves nothing: selection skips it.
    await f.api.patch('/v1/clusters/primary-9', { state: 'retired' });
    const after = await select({ name: 'after-retire', count: 10, seed: 1 });
    expect(after.status, after.text).toBe(201);
  });
});

describe('GET /v1/cohorts', () => {
  it('lists cohorts and pages a cohort by org id', async () => {
    const list = (await f.api.as(f.tokens.operator).get('/v1/cohorts')).body.cohorts;
    expect(list.map((c: Json) => c.name)).toEqual(['after-retire', 'pilot-1', 'pilot-1-again', 'pilot-2', 'pilot-3']);
    expect(list[1]).toEqual({ name: 'pilot-1', size: 120, seed: 42, createdAt: expect.any(String) });
    const all = await members('pilot-1');
    const page = (await f.api.get('/v1/cohorts/pilot-1?limit=50')).body;
    expect(page).toMatchObject({ name: 'pilot-1', size: 120, seed: 42, orgIds: all.slice(0, 50) });
    expect(page.strata.length).toBeGreaterThan(0);
    expect((await f.api.get(`/v1/cohorts/pilot-1?limit=50&after=${all[49]}`)).body.orgIds).toEqual(all.slice(50, 100));
    expect((await f.api.get('/v1/cohorts/pilot-1?after=-3')).body.error.code).toBe('INVALID_ORG_ID');
    const missing = await f.api.get('/v1/cohorts/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('COHORT_NOT_FOUND');
    expect((await f.api.as(f.tokens['sdk:read']).get('/v1/cohorts')).status).toBe(403);
  });
});

describe('selectPilot', () => {
  const now = new Date('2026-02-01T00:00:00Z');
  const orgs: OrgStats[] = Array.from({ length: 20_000 }, (_, i) => ({
    orgId: i * 7 + 3,
    sizeRows: [3, 20, 100, 500, 5000][Math.floor(pilotHash(99, i) / 2 ** 53 / 0.2)]!,
    lastActiveAt: new Date(now.getTime() - (i % 10) * 4 * 86_400_000),
  }));

  it('does not depend on the order the clusters answer in', async () => {
    const a = await selectPilot(new ArrayOrgStatsSource(orgs), { count: 500, seed: 5, now });
    const b = await selectPilot(new ArrayOrgStatsSource([...orgs].reverse()), { count: 500, seed: 5, now });
    expect(b).toEqual(a);
    expect(a.orgIds).toHaveLength(500);
    expect(a.strata).toHaveLength(15);
    for (const s of a.strata) expect(Math.abs(s.selected - (500 * s.population) / 20_000)).toBeLessThan(1);
  });

  it('apportions by largest remainder, never above a stratum population', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([1, 1, 1]);
    expect(apportion(2, [1, 1, 1])).toEqual([1, 1, 0]);
    expect(apportion(10, [50, 30, 20])).toEqual([5, 3, 2]);
    expect(apportion(7, [50, 30, 20])).toEqual([4, 2, 1]);
    expect(apportion(5, [0, 0])).toEqual([0, 0]);
  });
});
