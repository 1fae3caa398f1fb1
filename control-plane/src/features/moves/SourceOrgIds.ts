// What a cluster holds and serves, asked of its primary: the org ids in its
// `organizations` table (the root of every tenant table), so that a percent batch chooses
// among the orgs that really exist on the source and a shard-map change can tell whether
// it would route orgs away from their rows; and its ownership markers
// (migrations/tenant/1764300000000_ownership-markers.sql), which a shard-map change keeps
// in step with the map. The one place the control plane connects to a cluster outside a move.
import pg from 'pg';
import { sqlState } from '../../db/Database.js';

const PAGE = 50_000;
const APPLICATION_NAME = 'orgplane-moves';
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Longest wait for one statement of `withCluster`: a shard-map change asks the cluster
 * while it holds the config version lock, so a hung primary must not hold it for long.
 */
const QUERY_TIMEOUT_MS = 30_000;

/** A session on the cluster's primary, not yet connected. */
function clusterClient(primaryUrl: string): pg.Client {
  const client = new pg.Client({
    connectionString: primaryUrl,
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
  });
  // An error on an idle client (the server went away) must not crash the process.
  client.on('error', () => {});
  return client;
}

/** One session on the cluster's primary for `fn`, closed after it. */
export async function withCluster<T>(primaryUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = clusterClient(primaryUrl);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Every org id on the cluster within [lo, hi], ascending, a page at a time. */
export async function* sourceOrgIds(primaryUrl: string, range: { lo: number; hi: number }): AsyncGenerator<number[]> {
  // Not withCluster: a generator cannot yield from inside its callback.
  const client = clusterClient(primaryUrl);
  try {
    await client.connect();
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
  try {
    return await withCluster(primaryUrl, async (client) => {
      const { rows } = await client.query<{ org_id: string }>('SELECT org_id FROM organizations WHERE org_id = ANY($1::bigint[])', [
        orgIds,
      ]);
      const present = new Set(rows.map((row) => Number(row.org_id)));
      return orgIds.filter((id) => !present.has(id));
    });
  } catch (err) {
    if (sqlState(err) === '42P01') return [...orgIds];
    throw err;
  }
}

/** Which orgs to ask about: those of `ranges` (inclusive, disjoint) and the single `orgIds` (outside them), minus `excluding`. */
export interface OrgSelection {
  ranges: readonly { lo: number; hi: number }[];
  orgIds: readonly number[];
  excluding: readonly number[];
}

/**
 * How many of the selected orgs the cluster holds rows of, and the first few of them: a
 * range scan of the `organizations` primary key per range. A cluster without the tenant
 * tables holds none.
 */
export async function heldOrgs(
  primaryUrl: string,
  selection: OrgSelection,
  sampleSize = 5,
): Promise<{ count: number; sampleOrgIds: number[] }> {
  const params = [selection.ranges.map((r) => r.lo), selection.ranges.map((r) => r.hi), selection.orgIds, selection.excluding];
  const held = `
    SELECT o.org_id FROM unnest($1::bigint[], $2::bigint[]) AS r(lo, hi)
      JOIN organizations o ON o.org_id BETWEEN r.lo AND r.hi
    UNION ALL
    SELECT o.org_id FROM organizations o WHERE o.org_id = ANY($3::bigint[])`;
  try {
    return await withCluster(primaryUrl, async (client) => {
      const { rows: counted } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM (${held}) h WHERE h.org_id <> ALL($4::bigint[])`,
        params,
      );
      const { rows: sample } = await client.query<{ org_id: string }>(
        `SELECT h.org_id FROM (${held}) h WHERE h.org_id <> ALL($4::bigint[]) ORDER BY h.org_id LIMIT ${Math.max(1, Math.floor(sampleSize))}`,
        params,
      );
      return { count: Number(counted[0]!.n), sampleOrgIds: sample.map((row) => Number(row.org_id)) };
    });
  } catch (err) {
    if (sqlState(err) === '42P01') return { count: 0, sampleOrgIds: [] };
    throw err;
  }
}

/** One change to a cluster's ownership markers (the tenant migration's functions). */
export type MarkerChange =
  /** The cluster stops serving [lo, hi] by its ranges; it keeps serving `stillServed` (orgs of the range pinned to it). */
  | { op: 'mark-range-moved'; lo: number; hi: number; stillServed: readonly number[] }
  /** The cluster serves [lo, hi] by its ranges again. */
  | { op: 'clear-range-markers'; lo: number; hi: number }
  /** The cluster stops serving these orgs. */
  | { op: 'mark-orgs-moved'; orgIds: readonly number[] }
  /** The cluster serves these orgs again. */
  | { op: 'serve-orgs'; orgIds: readonly number[] };

/** Apply the changes on the cluster in one transaction; `why` is kept on each marker. */
export async function changeMarkers(primaryUrl: string, changes: readonly MarkerChange[], why: string): Promise<void> {
  await withCluster(primaryUrl, async (client) => {
    await client.query('BEGIN');
    try {
      for (const change of changes) {
        switch (change.op) {
          case 'mark-range-moved':
            await client.query('SELECT orgplane_mark_range_moved($1, $2, $3, $4::bigint[])', [
              change.lo,
              change.hi,
              why,
              change.stillServed,
            ]);
            break;
          case 'clear-range-markers':
            await client.query('SELECT orgplane_clear_range_markers($1, $2)', [change.lo, change.hi]);
            break;
          case 'mark-orgs-moved':
            await client.query('SELECT orgplane_mark_org_moved(o, $2) FROM unnest($1::bigint[]) AS o', [change.orgIds, why]);
            break;
          case 'serve-orgs':
            await client.query('SELECT orgplane_serve_org(o, $2) FROM unnest($1::bigint[]) AS o', [change.orgIds, why]);
            break;
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}
