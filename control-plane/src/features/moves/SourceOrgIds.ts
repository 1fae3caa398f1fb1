// The org ids a cluster holds, read from its `organizations` table: a percent batch
// chooses among the orgs that really exist on the source, not among id ranges.
import pg from 'pg';
import { sqlState } from '../../db/Database.js';

const PAGE = 50_000;

/** Every org id on the cluster within [lo, hi], ascending, a page at a time. */
export async function* sourceOrgIds(primaryUrl: string, range: { lo: number; hi: number }): AsyncGenerator<number[]> {
  const client = new pg.Client({ connectionString: primaryUrl, application_name: 'orgplane-moves', connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    let after = range.lo - 1;
    for (;;) {
      const { rows } = await client.query<{ org_id: string }>(
        'SELECT org_id FROM organizations WHERE org_id > $1 AND org_id <= $2 ORDER BY org_id LIMIT $3',
        [after, range.hi, PAGE],
      );
      if (rows.length === 0) return;
      const ids = rows.map((row) => Number(row.org_id));
      yield ids;
      after = ids[ids.length - 1]!;
      if (rows.length < PAGE) return;
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Which of `orgIds` the cluster does not hold, in one query. A cluster without the tenant
 * tables holds none of them.
 */
export async function missingOrgIds(primaryUrl: string, orgIds: readonly number[]): Promise<number[]> {
  const client = new pg.Client({ connectionString: primaryUrl, application_name: 'orgplane-moves', connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ org_id: string }>('SELECT org_id FROM organizations WHERE org_id = ANY($1::bigint[])', [orgIds]);
    const present = new Set(rows.map((row) => Number(row.org_id)));
    return orgIds.filter((id) => !present.has(id));
  } catch (err) {
    if (sqlState(err) === '42P01') return [...orgIds];
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
