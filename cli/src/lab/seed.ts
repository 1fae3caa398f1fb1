// Deterministic synthetic orgs for the tenant tables. Every value derives from the org
// id (no random(), no now()), so two seeds of the same ids are identical row for row.
// Postgres generates the rows itself (INSERT ... SELECT generate_series), a batch of orgs
// per statement, so a million orgs take minutes, not hours.
import pg from 'pg';

type Count = readonly [min: number, max: number];

interface Shape {
  /** Percent of orgs with this shape. */
  share: number;
  plan: string;
  properties: Count;
  users: Count;
  guests: Count;
  expenses: Count;
  revenues: Count;
}

export type OrgSize = 'small' | 'medium' | 'large';

export const SHAPES: Record<OrgSize, Shape> = {
  small: { share: 70, plan: 'starter', properties: [1, 1], users: [2, 2], guests: [3, 3], expenses: [2, 2], revenues: [4, 4] },
  medium: { share: 25, plan: 'standard', properties: [5, 5], users: [10, 10], guests: [20, 20], expenses: [10, 10], revenues: [24, 24] },
  large: {
    share: 5,
    plan: 'enterprise',
    properties: [20, 50],
    users: [50, 50],
    guests: [200, 399],
    expenses: [100, 199],
    revenues: [300, 599],
  },
};

const SIZES = Object.keys(SHAPES) as OrgSize[];
type Counted = 'properties' | 'users' | 'guests' | 'expenses' | 'revenues';
const COUNTED: Counted[] = ['properties', 'users', 'guests', 'expenses', 'revenues'];

export type OrgShape = { size: OrgSize; plan: string } & Record<Counted, number>;

/** The shape the seed gives an org; the same arithmetic as the SQL below. */
export function orgShape(orgId: number): OrgShape {
  const id = BigInt(orgId);
  const bucket = Number((((id * 2654435761n) % 4294967296n) * 100n) / 4294967296n);
  const h2 = Number((id * 40503n) % 65536n);
  let floor = 0;
  let size: OrgSize = 'large';
  for (const s of SIZES) {
    floor += SHAPES[s].share;
    if (bucket < floor) {
      size = s;
      break;
    }
  }
  const shape = SHAPES[size];
  const count = ([min, max]: Count) => min + (h2 % (max - min + 1));
  return { size, plan: shape.plan, ...(Object.fromEntries(COUNTED.map((k) => [k, count(shape[k])])) as Record<Counted, number>) };
}

/** CASE over the size buckets, e.g. the property count of each org. */
function byShape(value: (shape: Shape) => string): string {
  let floor = 0;
  const arms = SIZES.map((s) => `WHEN bucket < ${(floor += SHAPES[s].share)} THEN ${value(SHAPES[s])}`);
  return `CASE ${arms.join(' ')} END`;
}

const count = ([min, max]: Count) => `${min} + h2 % ${max - min + 1}`;

const ORGS_CTE = `
WITH o AS (
  SELECT org_id, (org_id * 2654435761 % 4294967296) * 100 / 4294967296 AS bucket, org_id * 40503 % 65536 AS h2
  FROM generate_series($1::bigint, $2::bigint) AS org_id
), s AS (
  SELECT org_id, h2, ${byShape((s) => `'${s.plan}'`)} AS plan,
    ${COUNTED.map((k) => `${byShape((s) => count(s[k]))} AS ${k}`).join(',\n    ')},
    timestamptz '2020-01-01 00:00:00+00' + (org_id % 1826) * interval '1 day' + (org_id * 7919 % 86400) * interval '1 second' AS created_at
  FROM o
)`;

/** A property of the org for the n-th row of a table: rows spread over all its properties. */
const propertyOf = (n: string) => `1 + (${n} - 1) % s.properties`;
/** A day in 2025-01-01 .. 2027-12-30, inside the monthly revenue partitions. */
const dayOf = (a: number, b: number, n: string) => `date '2025-01-01' + ((s.org_id * ${a} + ${n} * ${b}) % 1095)::int`;
const pick = (values: string[], n: string) =>
  `(ARRAY[${values.map((v) => `'${v}'`).join(', ')}])[1 + (s.org_id + ${n}) % ${values.length}]`;

const INSERTS = [
  `INSERT INTO organizations (org_id, name, plan, created_at, last_active_at)
   SELECT s.org_id, 'Org ' || s.org_id, s.plan, s.created_at, s.created_at + (s.h2 % 700) * interval '1 day' FROM s`,
  `INSERT INTO properties (org_id, property_id, name, timezone, created_at)
   SELECT s.org_id, p, 'Property ' || p || ' of org ' || s.org_id,
     ${pick(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'], 'p')}, s.created_at + p * interval '1 hour'
   FROM s, generate_series(1, s.properties) AS p`,
  `INSERT INTO users (org_id, user_id, email, role, created_at)
   SELECT s.org_id, u, 'user' || u || '@org' || s.org_id || '.example.com',
     CASE WHEN u = 1 THEN 'owner' WHEN u <= 3 THEN 'admin' ELSE 'member' END, s.created_at + u * interval '1 minute'
   FROM s, generate_series(1, s.users) AS u`,
  `INSERT INTO staff (org_id, staff_id, property_id, user_id, title)
   SELECT s.org_id, u, ${propertyOf('u')}, u, ${pick(['manager', 'front desk', 'housekeeping', 'maintenance', 'accounting'], 'u')}
   FROM s, generate_series(1, s.users) AS u`,
  `INSERT INTO guests (org_id, guest_id, property_id, full_name, checked_in)
   SELECT s.org_id, g, ${propertyOf('g')}, 'Guest ' || g || ' of org ' || s.org_id, CASE WHEN g % 10 = 0 THEN NULL ELSE ${dayOf(31, 17, 'g')} END
   FROM s, generate_series(1, s.guests) AS g`,
  `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
   SELECT s.org_id, e, ${propertyOf('e')}, 500 + (s.org_id * 7 + e * 131) % 200000,
     ${pick(['supplies', 'utilities', 'payroll', 'maintenance', 'marketing'], 'e')}, ${dayOf(13, 29, 'e')}
   FROM s, generate_series(1, s.expenses) AS e`,
  `INSERT INTO revenues (org_id, revenue_id, property_id, amount_cents, booked_on)
   SELECT s.org_id, r, ${propertyOf('r')}, 1000 + (s.org_id * 11 + r * 173) % 500000, ${dayOf(17, 37, 'r')}
   FROM s, generate_series(1, s.revenues) AS r`,
].map((insert) => `${ORGS_CTE}\n${insert}`);

export interface SeedOptions {
  /** Orgs per statement. */
  batchSize?: number;
  onBatch?: (seededThrough: number) => void;
}

/** Insert orgs first..last (inclusive) and all their rows into a migrated, empty tenant database. */
export async function seedOrgs(databaseUrl: string, first: number, last: number, opts: SeedOptions = {}): Promise<void> {
  const batchSize = opts.batchSize ?? 20_000;
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    // The rows are consistent by construction, so skip the per-row foreign-key triggers
    // (superuser only); a crash loses at most the last batch, which a fresh lab redoes anyway.
    await client.query('SET session_replication_role = replica');
    await client.query('SET synchronous_commit = off');
    for (let lo = first; lo <= last; lo += batchSize) {
      const hi = Math.min(lo + batchSize - 1, last);
      await client.query('BEGIN');
      for (const sql of INSERTS) await client.query(sql, [lo, hi]);
      await client.query('COMMIT');
      opts.onBatch?.(hi);
    }
    await client.query('ANALYZE');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
