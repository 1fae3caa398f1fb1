// What the mover does to one org on one cluster outside the copy and the replay: its
// move marker, waiting out older transactions, dropping a capture under the fence,
// deleting its rows.

import { backoffMs, sleep } from '@orgplane/kit';
import type pg from 'pg';
import { inTransaction, sqlState } from '../../../db/Database.js';
import { CaptureWaitTimeoutError } from '../../../errors.js';
import { type ClusterSide, MOVER_APPLICATION_NAME } from './ClusterSide.js';
import type { TableInfo } from './TableCatalog.js';

export type MarkerState = 'capturing' | 'fenced' | 'moved' | 'owned';

const DELETE_BATCH = 5000;
/** Backoff between tries to take a busy fence (full jitter, ceiling 100 ms doubling to 1 s). */
const FENCE_RETRY_BASE_MS = 50;
const FENCE_RETRY_CAP_MS = 1000;

export async function markerState(db: pg.ClientBase | pg.Pool, orgId: number): Promise<MarkerState | null> {
  const { rows } = await db.query<{ state: MarkerState }>('SELECT state FROM orgplane_org_moves WHERE org_id = $1', [orgId]);
  return rows[0]?.state ?? null;
}

export async function upsertMarker(
  db: pg.ClientBase | pg.Pool,
  orgId: number,
  state: MarkerState,
  moveId: string,
  fenceWaitMs: number,
): Promise<void> {
  await db.query(
    `INSERT INTO orgplane_org_moves (org_id, state, move_id, fence_wait_ms) VALUES ($1, $2, $3, $4)
     ON CONFLICT (org_id) DO UPDATE SET state = EXCLUDED.state, move_id = EXCLUDED.move_id,
       fence_wait_ms = EXCLUDED.fence_wait_ms, updated_at = now()`,
    [orgId, state, moveId, fenceWaitMs],
  );
}

/**
 * Waits until every transaction on the cluster that started before `since` (default:
 * now) has ended, or throws CaptureWaitTimeoutError after `limitMs`.
 *
 * - Before a copy (`capture`): a transaction that checked for the capture marker before
 *   it was committed logs nothing, and may commit after the copy's snapshot. Those that
 *   hold no snapshot and no transaction id yet (idle in a READ COMMITTED transaction)
 *   will see the marker in their next statement, so only the others count.
 * - Before `complete` deletes the source rows (`complete`, since the org was marked
 *   moved): a transaction that checked ownership before the flip reads the source as
 *   the flip left it, which is the truth as of the flip, until the rows go. Every open
 *   transaction counts, idle ones too.
 * The mover's own sessions (other moves' copies) are not waited for.
 */
export async function waitForOlderTransactions(
  pool: pg.Pool,
  orgId: number,
  limitMs: number,
  options: { waitingFor?: 'capture' | 'complete'; since?: Date } = {},
): Promise<void> {
  const waitingFor = options.waitingFor ?? 'capture';
  let since = options.since;
  if (since === undefined) {
    const { rows: now } = await pool.query<{ at: Date }>('SELECT now() AS at');
    since = now[0]!.at;
  }
  const snapshotHolders = waitingFor === 'capture' ? 'AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)' : '';
  const started = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend'
          AND pid <> pg_backend_pid() AND application_name IS DISTINCT FROM $2
          AND xact_start < $1 ${snapshotHolders}`,
      [since, MOVER_APPLICATION_NAME],
    );
    if (rows.length === 0) return;
    const waited = Date.now() - started;
    if (waited >= limitMs) {
      throw new CaptureWaitTimeoutError(
        orgId,
        waited,
        rows.map((r) => r.pid),
        waitingFor,
      );
    }
    await sleep(20);
  }
}

/**
 * Drop a capture with the org's fence held for the transaction, so writers that
 * already passed the marker finish logging first and later ones see no marker.
 * Otherwise a change logged by a writer in flight would outlive its marker.
 */
export async function underFence(
  side: ClusterSide,
  orgId: number,
  lockTimeoutMs: number,
  fn: (db: pg.PoolClient) => Promise<void>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await inTransaction(side.pool, async (db) => {
        await db.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
        await db.query('SELECT pg_advisory_xact_lock(orgplane_fence_key($1))', [orgId]);
        await fn(db);
      });
      return;
    } catch (err) {
      if (sqlState(err) !== '55P03' || attempt >= 5) throw err;
      // Another session holds the fence (lock_timeout): back off before asking again.
      await sleep(backoffMs(attempt, { baseMs: FENCE_RETRY_BASE_MS, capMs: FENCE_RETRY_CAP_MS, jitter: 'equal' }));
    }
  }
}

/** Delete the org's rows in batches, in the given table order, in replica-role sessions. */
export async function deleteOrgRows(
  side: ClusterSide,
  orgId: number,
  tables: TableInfo[],
  onProgress?: (deletedRows: number) => void,
): Promise<number> {
  let deleted = 0;
  for (const table of tables) {
    const key = table.columnList(undefined, table.primaryKey);
    for (;;) {
      const { rowCount } = await side.replicaPool.query(
        `DELETE FROM ${table.qname} WHERE (${key}) IN (SELECT ${key} FROM ${table.qname} WHERE org_id = $1 LIMIT ${DELETE_BATCH})`,
        [orgId],
      );
      const n = rowCount ?? 0;
      deleted += n;
      if (n > 0) onProgress?.(deleted);
      if (n < DELETE_BATCH) break;
    }
  }
  return deleted;
}
