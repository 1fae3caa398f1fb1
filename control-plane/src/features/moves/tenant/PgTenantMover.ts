// The tenant side of one org's move on two Postgres clusters (see TenantMover.ts for
// the contract and migrations/tenant/1764000000000_move-capture.sql for the trigger).
//
// Markers (orgplane_org_moves) through a move:
//   source: (none) -> capturing -> fenced -> moved (kept forever after complete: the
//           tombstone that refuses stale maps, reads included; see
//           migrations/tenant/1764300000000_ownership-markers.sql)
//   target: moved (set at startCapture: misrouted reads and writes fail with OPF02 until
//           the flip) -> capturing (at the flip: writes are logged for a rollback) ->
//           served after complete | fenced -> moved (rollback)
// "Served" is no marker, or 'owned' where a range marker covers the org
// (orgplane_serve_org).
// A step that reads or writes both sides runs one at a time per mover (`exclusive`):
// two replays racing could write an older row over a newer one.
import { inTransaction } from '../../../db/Database.js';
import { InvalidOrgIdError, ReplayMismatchError, TenantMoveStateError } from '../../../errors.js';
import { ClusterSide } from './ClusterSide.js';
import { type KeySet, pendingChanges, replayBatch } from './changeReplay.js';
import { copyOrgTable } from './copyOrgTable.js';
import { deleteOrgRows, markerState, underFence, upsertMarker, waitForOlderTransactions } from './orgOnCluster.js';
import { runFence } from './runFence.js';
import { readTenantTables, type TableInfo } from './TableCatalog.js';
import type {
  CatchUpResult,
  CopyProgress,
  CutoverHooks,
  CutoverResult,
  TableCopyResult,
  TenantMover,
  TenantMoverOptions,
  TenantTable,
  VerifyResult,
} from './TenantMover.js';
import { compare, matches, orgChecksum } from './verifier.js';

const REPLAY_BATCH = 1000;
/** Writers wait this much longer than the fence may last before giving up (OPF01). */
const FENCE_WAIT_MARGIN_MS = 500;
/** catchUp rounds a cutover runs before its verify, so that verify applies little. */
const PRE_FENCE_ROUNDS = 3;

export function createTenantMover(options: TenantMoverOptions): TenantMover {
  return new PgTenantMover(options);
}

class PgTenantMover implements TenantMover {
  private readonly source: ClusterSide;
  private readonly target: ClusterSide;
  private catalog: Promise<TableInfo[]> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: TenantMoverOptions) {
    if (!Number.isSafeInteger(options.orgId) || options.orgId < 0) throw new InvalidOrgIdError('orgId', options.orgId);
    this.source = new ClusterSide('source', options.sourceUrl, options.log);
    this.target = new ClusterSide('target', options.targetUrl, options.log);
  }

  private get orgId(): number {
    return this.options.orgId;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async catalogList(): Promise<TableInfo[]> {
    this.catalog ??= readTenantTables(this.source.pool, this.target.pool);
    try {
      return await this.catalog;
    } catch (err) {
      this.catalog = undefined;
      throw err;
    }
  }

  private async catalogMap(): Promise<Map<string, TableInfo>> {
    return new Map((await this.catalogList()).map((t) => [t.name, t]));
  }

  async tables(): Promise<TenantTable[]> {
    return (await this.catalogList()).map((t) => t.toTenantTable());
  }

  startCapture(): Promise<void> {
    return this.exclusive(async () => {
      const tables = await this.catalogList();
      const { orgId, moveId } = this.options;
      const fenceWaitMs = this.options.fenceDeadlineMs + FENCE_WAIT_MARGIN_MS;
      const sourceState = await markerState(this.source.pool, orgId);
      if (sourceState === 'moved') {
        throw new TenantMoveStateError(`org ${orgId} has moved away from the source cluster`, {
          hint: 'move it from the cluster that serves it now',
          details: { orgId, side: 'source', state: sourceState },
        });
      }
      // The target: no rows of the org, and a 'moved' marker until the flip, so writes
      // sent there by mistake fail instead of mixing with the copy. A 'capturing' marker
      // of another move means the org is served there.
      const { rows: targetMarker } = await this.target.pool.query<{ state: string; move_id: string }>(
        'SELECT state, move_id FROM orgplane_org_moves WHERE org_id = $1',
        [orgId],
      );
      const existing = targetMarker[0];
      if (existing && existing.state !== 'moved' && existing.move_id !== moveId) {
        throw new TenantMoveStateError(`org ${orgId} is marked '${existing.state}' on the target by move ${existing.move_id}`, {
          hint: 'finish or roll back that move first',
          details: { orgId, side: 'target', state: existing.state, moveId: existing.move_id },
        });
      }
      const leftovers = await deleteOrgRows(this.target, orgId, [...tables].reverse());
      if (leftovers > 0) this.options.log.warn({ orgId, moveId, rows: leftovers }, 'deleted leftover rows of the org on the target');
      await inTransaction(this.target.pool, async (db) => {
        await db.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
        await upsertMarker(db, orgId, 'moved', moveId, fenceWaitMs);
      });
      await upsertMarker(this.source.pool, orgId, 'capturing', moveId, fenceWaitMs);
      await waitForOlderTransactions(this.source.pool, this.orgId, this.options.captureWaitMs ?? 60_000);
      this.options.log.info({ orgId, moveId }, 'capturing the org on the source');
    });
  }

  private async requireCapturing(): Promise<void> {
    const state = await markerState(this.source.pool, this.orgId);
    if (state !== 'capturing' && state !== 'fenced') {
      throw new TenantMoveStateError(`org ${this.orgId} is not being captured on the source (marker: ${state ?? 'none'})`, {
        hint: 'run startCapture first; a copy without capture would miss concurrent writes',
        details: { orgId: this.orgId, side: 'source', state },
      });
    }
  }

  copyTable(table: TenantTable, onProgress: (p: CopyProgress) => void): Promise<TableCopyResult> {
    return this.exclusive(async () => {
      const info = (await this.catalogMap()).get(table.name);
      if (!info) throw new TenantMoveStateError(`${table.name} is not a tenant table`, { details: { table: table.name } });
      await this.requireCapturing();
      const result = await copyOrgTable({ source: this.source, target: this.target, table: info, orgId: this.orgId, onProgress });
      this.options.log.info({ orgId: this.orgId, table: info.name, rows: result.rows, bytes: result.bytes }, 'copied table');
      return result;
    });
  }

  /** One replay batch from `from` to `to`, each in its own transaction; `to` commits first. */
  private async replayOnce(from: ClusterSide, to: ClusterSide, limit: number): Promise<KeySet & { consumed: number }> {
    const catalog = await this.catalogMap();
    return inTransaction(
      from.pool,
      (fromDb) =>
        inTransaction(to.replicaPool, async (toDb) => {
          const batch = await replayBatch(fromDb, toDb, catalog, this.orgId, limit);
          // Nothing commits: the entries stay logged for whoever looks into it.
          if (!batch.tables.every(matches))
            throw new ReplayMismatchError(
              this.orgId,
              batch.tables.filter((t) => !matches(t)),
            );
          return Object.assign(batch.keys, { consumed: batch.consumed });
        }),
      { isolation: 'repeatable read' },
    );
  }

  private async catchUpInner(maxChanges: number): Promise<CatchUpResult> {
    let applied = 0;
    while (applied < maxChanges) {
      const limit = Math.min(REPLAY_BATCH, maxChanges - applied);
      const keys = await this.replayOnce(this.source, this.target, limit);
      applied += keys.consumed;
      // A short batch took everything logged up to its snapshot: caught up (writers
      // may have logged more since; the next call or the fence takes those).
      if (keys.consumed < limit) break;
    }
    return { applied, pending: await pendingChanges(this.source.pool, this.orgId) };
  }

  catchUp(maxChanges = 100_000): Promise<CatchUpResult> {
    return this.exclusive(async () => {
      await this.requireCapturing();
      return this.catchUpInner(maxChanges);
    });
  }

  verify(): Promise<VerifyResult> {
    return this.exclusive(() => this.verifyInner());
  }

  /**
   * Snapshot S on the source: apply every change visible in S reading rows at S, then
   * compare each table's count and checksum at S with the target's. Equal means the
   * target holds the source's state at S; every later change is still in the log.
   */
  private async verifyInner(): Promise<VerifyResult> {
    await this.requireCapturing();
    const tables = await this.catalogList();
    const catalog = await this.catalogMap();
    // One REPEATABLE READ snapshot on the source: replay up to it, then checksum both sides.
    const results = await inTransaction(
      this.source.pool,
      async (source) => {
        for (;;) {
          const consumed = await inTransaction(this.target.replicaPool, async (target) => {
            const batch = await replayBatch(source, target, catalog, this.orgId, REPLAY_BATCH);
            if (!batch.tables.every(matches))
              throw new ReplayMismatchError(
                this.orgId,
                batch.tables.filter((t) => !matches(t)),
              );
            return batch.consumed;
          });
          if (consumed < REPLAY_BATCH) break;
        }
        const checked = [];
        for (const table of tables) {
          const [s, t] = await Promise.all([orgChecksum(source, table, this.orgId), orgChecksum(this.target.pool, table, this.orgId)]);
          checked.push(compare(table.name, s, t));
        }
        return checked;
      },
      { isolation: 'repeatable read' },
    );
    const ok = results.every(matches);
    this.options.log.info({ orgId: this.orgId, ok }, 'verified the org on the target');
    return { ok, tables: results };
  }

  cutover(hooks: CutoverHooks): Promise<CutoverResult> {
    return this.exclusive(async () => {
      const { orgId, moveId } = this.options;
      const state = await markerState(this.source.pool, orgId);
      let verified: VerifyResult | null = null;
      if (state !== 'moved') {
        await this.requireCapturing();
        for (let i = 0; i < PRE_FENCE_ROUNDS; i++) {
          if ((await this.catchUpInner(100_000)).pending < REPLAY_BATCH) break;
        }
        // A full comparison right before the fence (writes go on meanwhile); every
        // replay batch after it checks its own keys, the fence's drain included.
        verified = await this.verifyInner();
        if (!verified.ok) return { outcome: 'mismatch', fenceMs: 0, tables: verified.tables };
        await this.catchUpInner(100_000);
      }
      const fenceWaitMs = this.options.fenceDeadlineMs + FENCE_WAIT_MARGIN_MS;
      const result = await runFence(
        {
          kind: 'cutover',
          fenceSide: this.source,
          applySide: this.target,
          orgId,
          deadlineMs: this.options.fenceDeadlineMs,
          catalog: await this.catalogMap(),
          log: this.options.log,
          async finish(source, target) {
            await upsertMarker(target, orgId, 'capturing', moveId, fenceWaitMs);
            await source.query(`UPDATE orgplane_org_moves SET state = 'moved', updated_at = now() WHERE org_id = $1`, [orgId]);
          },
          async release(source, target) {
            await source.query(`UPDATE orgplane_org_moves SET state = 'capturing', updated_at = now() WHERE org_id = $1`, [orgId]);
            await target.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
            await upsertMarker(target, orgId, 'moved', moveId, fenceWaitMs);
          },
        },
        { ...hooks, flip: () => hooks.flip(verified?.tables) },
      );
      return result;
    });
  }

  rollback(hooks: CutoverHooks): Promise<CutoverResult> {
    return this.exclusive(async () => {
      const { orgId, moveId } = this.options;
      const [targetState, sourceState] = [await markerState(this.target.pool, orgId), await markerState(this.source.pool, orgId)];
      const flipped = targetState === 'capturing' || targetState === 'fenced';
      // A rollback that died after marking both sides: the source is 'fenced' or free.
      const resumable = targetState === 'moved' && (sourceState === null || sourceState === 'fenced');
      if (!(flipped && sourceState === 'moved') && !resumable) {
        throw new TenantMoveStateError(
          `org ${orgId} has not flipped to the target (source: ${sourceState ?? 'none'}, target: ${targetState ?? 'none'})`,
          {
            hint: 'before the flip, abort the move instead',
            details: { orgId, sourceState, targetState },
          },
        );
      }
      if (flipped) {
        // Carry the target's writes back ahead of the fence, so the drain under it is short.
        for (;;) {
          const keys = await this.replayOnce(this.target, this.source, REPLAY_BATCH);
          if (keys.consumed < REPLAY_BATCH) break;
        }
      }
      const fenceWaitMs = this.options.fenceDeadlineMs + FENCE_WAIT_MARGIN_MS;
      const result = await runFence(
        {
          kind: 'rollback',
          fenceSide: this.target,
          applySide: this.source,
          orgId,
          deadlineMs: this.options.fenceDeadlineMs,
          catalog: await this.catalogMap(),
          log: this.options.log,
          async finish(target, source) {
            await target.query(`UPDATE orgplane_org_moves SET state = 'moved', updated_at = now() WHERE org_id = $1`, [orgId]);
            await source.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
            // 'fenced', not gone yet: writers sent to the source wait on its fence until
            // the flip, instead of slipping past the trigger before it is certain.
            await upsertMarker(source, orgId, 'fenced', moveId, fenceWaitMs);
          },
          async afterFlip(_target, source) {
            await source.query('SELECT orgplane_serve_org($1, $2)', [orgId, moveId]);
          },
          async release(target, source) {
            await target.query(`UPDATE orgplane_org_moves SET state = 'capturing', updated_at = now() WHERE org_id = $1`, [orgId]);
            await upsertMarker(source, orgId, 'moved', moveId, fenceWaitMs);
          },
        },
        hooks,
      );
      if (result.outcome === 'flipped') {
        // The source serves the org again; the target keeps its 'moved' marker.
        const deleted = await deleteOrgRows(this.target, orgId, [...(await this.catalogList())].reverse());
        await this.target.pool.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
        this.options.log.info({ orgId, moveId, deletedRows: deleted }, 'rolled back: the org is served by the source again');
      }
      return result;
    });
  }

  abort(): Promise<void> {
    return this.exclusive(async () => {
      const { orgId, moveId } = this.options;
      const state = await markerState(this.source.pool, orgId);
      if (state === 'moved') {
        throw new TenantMoveStateError(`org ${orgId} has flipped to the target; it can no longer be aborted`, {
          hint: 'roll the move back instead',
          details: { orgId, side: 'source', state },
        });
      }
      await underFence(this.source, orgId, this.options.fenceDeadlineMs, async (db) => {
        await db.query('SELECT orgplane_serve_org($1, $2)', [orgId, moveId]);
        await db.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
      });
      const deleted = await deleteOrgRows(this.target, orgId, [...(await this.catalogList())].reverse());
      await inTransaction(this.target.pool, async (db) => {
        await db.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
        // A marker the interrupted cutover left becomes 'moved': the org is not served here.
        await db.query(`UPDATE orgplane_org_moves SET state = 'moved', updated_at = now() WHERE org_id = $1`, [orgId]);
      });
      this.options.log.info({ orgId, moveId, deletedRows: deleted }, 'aborted: target rows removed, source untouched');
    });
  }

  complete(onProgress?: (deletedRows: number) => void): Promise<{ deletedRows: number }> {
    return this.exclusive(async () => {
      const { orgId, moveId } = this.options;
      const [sourceState, targetState] = [await markerState(this.source.pool, orgId), await markerState(this.target.pool, orgId)];
      if (sourceState !== 'moved' || (targetState !== 'capturing' && targetState !== null)) {
        throw new TenantMoveStateError(
          `org ${orgId} has not flipped to the target (source: ${sourceState ?? 'none'}, target: ${targetState ?? 'none'})`,
          {
            hint: 'complete only a flipped move',
            details: { orgId, sourceState, targetState },
          },
        );
      }
      // A transaction that checked ownership before the flip may still read the source:
      // its rows stay until every such transaction has ended.
      const { rows: marked } = await this.source.pool.query<{ at: Date }>(
        'SELECT updated_at AS at FROM orgplane_org_moves WHERE org_id = $1',
        [orgId],
      );
      await waitForOlderTransactions(this.source.pool, orgId, this.options.captureWaitMs ?? 60_000, {
        waitingFor: 'complete',
        since: marked[0]!.at,
      });
      const deletedRows = await deleteOrgRows(this.source, orgId, [...(await this.catalogList())].reverse(), onProgress);
      // The source keeps its 'moved' marker: stale writers keep failing with OPF02.
      await this.source.pool.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
      await underFence(this.target, orgId, this.options.fenceDeadlineMs, async (db) => {
        await db.query('SELECT orgplane_serve_org($1, $2)', [orgId, moveId]);
        await db.query('DELETE FROM orgplane_changes WHERE org_id = $1', [orgId]);
      });
      this.options.log.info({ orgId, moveId, deletedRows }, 'completed: source rows deleted');
      return { deletedRows };
    });
  }

  async replicaLagBytes(): Promise<number> {
    const { rows } = await this.source.pool.query<{ lag: string | null }>(
      'SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::text AS lag FROM pg_stat_replication',
    );
    return Math.max(0, Number(rows[0]?.lag ?? 0));
  }

  async close(): Promise<void> {
    await this.queue;
    await Promise.all([this.source.end(), this.target.end()]);
  }
}
