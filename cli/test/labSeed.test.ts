// The lab's seed and layout, against the run's real Postgres (no lab processes needed).
import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ORG_ID_MAX, orgBlocks, validateConfig } from '../src/lab/config.js';
import { LabError } from '../src/lab/errors.js';
import { orgShape, seedOrgs } from '../src/lab/seed.js';

const TABLES = ['organizations', 'properties', 'users', 'staff', 'guests', 'expenses', 'revenues'] as const;

/** md5 over an org's rows in every tenant table, in primary-key order. */
export async function orgChecksum(client: pg.Client, orgId: number): Promise<string> {
  const parts: string[] = [];
  for (const table of TABLES) {
    const { rows } = await client.query<{ sum: string | null }>(
      `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS sum FROM ${table} t WHERE org_id = $1`,
      [orgId],
    );
    parts.push(`${table}:${rows[0]?.sum ?? 'none'}`);
  }
  return parts.join(',');
}

describe('lab seed', () => {
  let a: pg.Client;
  let b: pg.Client;
  const ORGS = 2_000;

  beforeAll(async () => {
    const admin = inject('pgAdminUrl');
    const [urlA, urlB] = await Promise.all([createTestDatabase(admin, 'tenant'), createTestDatabase(admin, 'tenant')]);
    // Different batch sizes: batching must not change what is seeded.
    await Promise.all([seedOrgs(urlA!, 1, ORGS, { batchSize: 700 }), seedOrgs(urlB!, 1, ORGS)]);
    a = new pg.Client({ connectionString: urlA });
    b = new pg.Client({ connectionString: urlB });
    await Promise.all([a.connect(), b.connect()]);
  });

  afterAll(async () => {
    await Promise.all([a?.end(), b?.end()]);
  });

  it('seeds exactly the requested org ids', async () => {
    const { rows } = await a.query<{ n: number; lo: string; hi: string }>(
      'SELECT count(*)::int AS n, min(org_id) AS lo, max(org_id) AS hi FROM organizations',
    );
    expect(rows[0]).toEqual({ n: ORGS, lo: '1', hi: String(ORGS) });
  });

  it('gives every org the shape orgShape predicts, with some large orgs', async () => {
    const { rows } = await a.query<{
      org_id: string;
      plan: string;
      properties: number;
      users: number;
      guests: number;
      expenses: number;
      revenues: number;
    }>(`
      SELECT o.org_id, o.plan,
        (SELECT count(*)::int FROM properties p WHERE p.org_id = o.org_id) AS properties,
        (SELECT count(*)::int FROM users u WHERE u.org_id = o.org_id) AS users,
        (SELECT count(*)::int FROM guests g WHERE g.org_id = o.org_id) AS guests,
        (SELECT count(*)::int FROM expenses e WHERE e.org_id = o.org_id) AS expenses,
        (SELECT count(*)::int FROM revenues r WHERE r.org_id = o.org_id) AS revenues
      FROM organizations o ORDER BY o.org_id`);
    const sizes = { small: 0, medium: 0, large: 0 };
    for (const row of rows) {
      const { size, ...expected } = orgShape(Number(row.org_id));
      sizes[size]++;
      const { org_id: _, ...actual } = row;
      expect(actual, `org ${row.org_id}`).toEqual(expected);
    }
    expect(sizes.small / ORGS).toBeGreaterThan(0.6);
    expect(sizes.medium / ORGS).toBeGreaterThan(0.18);
    expect(sizes.large / ORGS).toBeGreaterThan(0.02);
    const staff = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM staff');
    const users = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    expect(staff.rows[0]!.n).toBe(users.rows[0]!.n);
  });

  it('is deterministic: two seeds are identical row for row', async () => {
    for (const orgId of [1, 2, 500, 1999, 2000, ...largeOrgs(2)]) {
      expect(await orgChecksum(a, orgId)).toBe(await orgChecksum(b, orgId));
    }
    const { rows } = await a.query<{ sum: string }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS sum FROM revenues t`);
    const other = await b.query<{ sum: string }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS sum FROM revenues t`);
    expect(rows[0]!.sum).toBe(other.rows[0]!.sum);
  });

  it('keeps every foreign key it skipped checking while seeding', async () => {
    const orphans = await a.query<{ n: number }>(`
      SELECT (SELECT count(*) FROM properties p WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.org_id = p.org_id))
           + (SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.org_id = u.org_id))
           + (SELECT count(*) FROM staff s WHERE NOT EXISTS (SELECT 1 FROM properties p WHERE (p.org_id, p.property_id) = (s.org_id, s.property_id))
                                              OR NOT EXISTS (SELECT 1 FROM users u WHERE (u.org_id, u.user_id) = (s.org_id, s.user_id)))
           + (SELECT count(*) FROM guests g WHERE NOT EXISTS (SELECT 1 FROM properties p WHERE (p.org_id, p.property_id) = (g.org_id, g.property_id)))
           + (SELECT count(*) FROM expenses e WHERE NOT EXISTS (SELECT 1 FROM properties p WHERE (p.org_id, p.property_id) = (e.org_id, e.property_id)))
           + (SELECT count(*) FROM revenues r WHERE NOT EXISTS (SELECT 1 FROM properties p WHERE (p.org_id, p.property_id) = (r.org_id, r.property_id)))
           AS n`);
    expect(Number(orphans.rows[0]!.n)).toBe(0);
  });

  it('books revenues across the monthly partitions, none in the default one', async () => {
    const { rows } = await a.query<{ months: number; stray: number }>(
      `SELECT count(DISTINCT date_trunc('month', booked_on))::int AS months, (SELECT count(*)::int FROM revenues_default) AS stray FROM revenues`,
    );
    expect(rows[0]).toEqual({ months: 36, stray: 0 });
  });
});

function largeOrgs(n: number): number[] {
  const found: number[] = [];
  for (let id = 1; found.length < n; id++) if (orgShape(id).size === 'large') found.push(id);
  return found;
}

describe('lab layout', () => {
  it('splits orgs into contiguous blocks whose ranges cover 0..ORG_ID_MAX', () => {
    expect(orgBlocks(300, 3)).toEqual([
      { clusterId: 'primary-1', lo: 0, hi: 100, firstOrg: 1, lastOrg: 100 },
      { clusterId: 'primary-2', lo: 101, hi: 200, firstOrg: 101, lastOrg: 200 },
      { clusterId: 'primary-3', lo: 201, hi: ORG_ID_MAX, firstOrg: 201, lastOrg: 300 },
    ]);
    expect(orgBlocks(10, 3).map((b) => [b.firstOrg, b.lastOrg])).toEqual([
      [1, 4],
      [5, 8],
      [9, 10],
    ]);
  });

  it('leaves a cluster empty rather than inventing orgs when there are fewer orgs than clusters', () => {
    const blocks = orgBlocks(1, 3);
    expect(blocks.map((b) => [b.lo, b.hi, b.firstOrg])).toEqual([
      [0, 1, 1],
      [2, 2, null],
      [3, ORG_ID_MAX, null],
    ]);
  });

  it.each([{ orgs: 0 }, { orgs: 1_000_001 }, { orgs: 2.5 }, { orgs: Number.NaN }, { clusters: 11 }, { replicas: -1 }])(
    'refuses %o',
    (bad) => {
      expect(() => validateConfig(bad)).toThrow(expect.objectContaining({ code: 'LAB_INVALID_INPUT' }));
      expect(() => validateConfig(bad)).toThrow(LabError);
    },
  );
});
