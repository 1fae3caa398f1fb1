// What the mover does to its scope (an org, or a span of orgs) on one cluster outside the
// copy and the replay: its move marker, waiting out older transactions, dropping a capture
// under the fence, deleting its rows.

import { backoffMs, sleep } from '@orgplane/kit';
import type pg from 'pg';
import { inTransaction, sqlState } from '../../../db/Database.js';
import { CaptureWaitTimeoutError } from '../../../errors.js';
import { type ClusterSide, MOVER_APPLICATION_NAME, type SideName } from './ClusterSide.js';
import { fenceKeySql, type MoveScope, scopeLabel, scopeLog, scopeWhere } from './MoveScope.js';
import type { TableInfo } from './TableCatalog.js';

export type MarkerState = 'capturing' | 'fenced' | 'moved' | 'owned';

const DELETE_BATCH = 5000;
/** A span's pause between delete batches. */
const DELETE_PAUSE_MS = 10;
/** Backoff between tries to take a busy fence (full jitter, ceiling 100 ms doubling to 1 s). */
const FENCE_RETRY_BASE_MS = 50;
const FENCE_RETRY_CAP_MS = 1000;

export async function markerState(db: pg.ClientBase | pg.Pool, orgId: number): Promise<MarkerState | null> {
  const { rows } = await db.query<{ state: MarkerState }>('SELECT state FROM orgplane_org_moves WHERE org_id = $1', [orgId]);
  return rows[0]?.state ?? null;
}

/** The scope's own marker: the org's, or the range marker of exactly the span. */
export async function scopeMarkerState(db: pg.ClientBase | pg.Pool, scope: MoveScope): Promise<MarkerState | null> {
  if (scope.kind === 'org') return markerState(db, scope.orgId);
  const { rows } = await db.query<{ state: MarkerState }>('SELECT state FROM orgplane_range_markers WHERE lo = $1 AND hi = $2', [
    scope.lo,
    scope.hi,
  ]);
  return rows[0]?.state ?? null;
}

/**
 * Set the scope's marker (created when missing). A span's pinned orgs served by this
 * cluster (`side`'s pins) keep an 'owned' org marker, so the span's marker does not refuse,
 * capture or fence them.
 */
export async function setScopeMarker(
  db: pg.ClientBase | pg.Pool,
  scope: MoveScope,
  side: SideName,
  state: Exclude<MarkerState, 'owned'>,
  moveId: string,
  fenceWaitMs: number,
): Promise<void> {
  if (scope.kind === 'org') {
    await upsertMarker(db, scope.orgId, state, moveId, fenceWaitMs);
    return;
  }
  const stillServed = side === 'source' ? scope.pinnedToSource : scope.pinnedToTarget;
  await db.query('SELECT orgplane_set_range_marker($1, $2, $3, $4, $5, $6::bigint[])', [
    scope.lo,
    scope.hi,
    state,
    moveId,
    fenceWaitMs,
    stillServed,
  ]);
}

/**
 * Change the state of the scope's marker in place (it exists: startCapture set it). In
 * place, not deleted and added again: a REPEATABLE READ writer re-reading it after the
 * fence then fails instead of missing it (see the range-moves migration).
 */
export async function updateScopeState(db: pg.ClientBase | pg.Pool, scope: MoveScope, state: Exclude<MarkerState, 'owned'>): Promise<void> {
  if (scope.kind === 'org') {
    await db.query('UPDATE orgplane_org_moves SET state = $2, updated_at = now() WHERE org_id = $1', [scope.orgId, state]);
    return;
  }
  await db.query('UPDATE orgplane_range_markers SET state = $3, updated_at = now() WHERE lo = $1 AND hi = $2', [scope.lo, scope.hi, state]);
}

/** The cluster serves the scope again: the org (orgplane_serve_org), or the span (its markers cleared). */
export async function serveScope(db: pg.ClientBase | pg.Pool, scope: MoveScope, moveId: string): Promise<void> {
  if (scope.kind === 'org') await db.query('SELECT orgplane_serve_org($1, $2)', [scope.orgId, moveId]);
  else await db.query('SELECT orgplane_clear_range_markers($1, $2)', [scope.lo, scope.hi]);
}

/** When the scope's marker last changed (the flip, for `complete`'s wait). */
export async function scopeMarkedAt(db: pg.ClientBase | pg.Pool, scope: MoveScope): Promise<Date | null> {
  const { rows } =
    scope.kind === 'org'
      ? await db.query<{ at: Date }>('SELECT updated_at AS at FROM orgplane_org_moves WHERE org_id = $1', [scope.orgId])
      : await db.query<{ at: Date }>('SELECT updated_at AS at FROM orgplane_range_markers WHERE lo = $1 AND hi = $2', [scope.lo, scope.hi]);
  return rows[0]?.at ?? null;
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
  scope: MoveScope,
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
        scopeLabel(scope),
        scopeLog(scope),
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
  scope: MoveScope,
  lockTimeoutMs: number,
  fn: (db: pg.PoolClient) => Promise<void>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await inTransaction(side.pool, async (db) => {
        await db.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
        await db.query(`SELECT pg_advisory_xact_lock(${fenceKeySql(scope)})`);
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

/**
 * Delete the scope's rows in batches of DELETE_BATCH, each its own transaction, in the
 * given table order, in replica-role sessions. A batch starts at the greatest org id the
 * last one deleted (keyset order on the primary key, which starts with org_id), so a span
 * of a million orgs is walked once instead of rescanning the dead rows of earlier batches;
 * a span pauses between batches, so that the cluster's own writers and its replicas keep up.
 */
export async function deleteScopeRows(
  side: ClusterSide,
  scope: MoveScope,
  tables: TableInfo[],
  onProgress?: (deletedRows: number) => void,
): Promise<number> {
  let deleted = 0;
  for (const table of tables) {
    const key = table.columnList(undefined, table.primaryKey);
    let from = scope.kind === 'org' ? scope.orgId : scope.lo;
    for (;;) {
      const { rows, rowCount } = await side.replicaPool.query<{ org_id: string }>(
        `DELETE FROM ${table.qname} WHERE (${key}) IN (
           SELECT ${key} FROM ${table.qname} WHERE ${scopeWhere(scope)} AND org_id >= $1 ORDER BY org_id LIMIT ${DELETE_BATCH})
         RETURNING org_id`,
        [from],
      );
      const n = rowCount ?? 0;
      deleted += n;
      if (n > 0) onProgress?.(deleted);
      if (n < DELETE_BATCH) break;
      for (const row of rows) from = Math.max(from, Number(row.org_id));
      if (scope.kind === 'range') await sleep(DELETE_PAUSE_MS);
    }
  }
  return deleted;
}
