// The tenant side of one move on two Postgres clusters, for an org or a span of orgs
// (see TenantMover.ts for the contract, MoveScope.ts for the scope, and
// migrations/tenant/1764000000000_move-capture.sql and 1764600000000_range-moves.sql for
// the trigger).
//
// Markers through a move (an org's in orgplane_org_moves, a span's in
// orgplane_range_markers; the same states):
//   source: (none) -> capturing -> fenced -> moved (kept forever after complete: the
//           tombstone that refuses stale maps, reads included; see
//           migrations/tenant/1764300000000_ownership-markers.sql)
//   target: moved (set at startCapture: misrouted reads and writes fail with OPF02 until
//           the flip) -> capturing (at the flip: writes are logged for a rollback) ->
//           served after complete | fenced -> moved (rollback)
// "Served" is no marker, or 'owned' where a range marker covers the org
// (orgplane_serve_org); for a span, no range marker. A span's pinned orgs are left alone:
// 'owned' org markers where they are pinned (so the span's marker neither refuses,
// captures nor fences them), 'moved' on the source for those pinned elsewhere, and every
// statement selecting the span's rows leaves them out (scopeWhere).
// A step that reads or writes both sides runs one at a time per mover (`exclusive`):
// two replays racing could write an older row over a newer one.
import { sleep } from '@orgplane/kit';
import { inTransaction } from '../../../db/Database.js';
import { ReplayMismatchError, TenantMoveStateError } from '../../../errors.js';
import { ClusterSide } from './ClusterSide.js';
import { dropChanges, type KeySet, pendingChanges, replayBatch } from './changeReplay.js';
import { copyScopeTable } from './copyScopeTable.js';
import { checkScope, type MoveScope, scopeLabel, scopeLog, scopeWhere } from './MoveScope.js';
import {
  deleteScopeRows,
  scopeMarkedAt,
  scopeMarkerState,
  serveScope,
  setScopeMarker,
  underFence,
  updateScopeState,
  waitForOlderTransactions,
} from './orgOnCluster.js';
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
import { compare, matches, scopeChecksum } from './verifier.js';

const REPLAY_BATCH = 1000;
/** Writers wait this much longer than the fence may last before giving up (OPF01). */
const FENCE_WAIT_MARGIN_MS = 500;
/** catchUp rounds a cutover runs before its verify, so that verify applies little. */
const PRE_FENCE_ROUNDS = 3;
/** How long the bulk copy waits for a replica to replay past the capture's start. */
const REPLICA_CATCH_UP_WAIT_MS = 5000;

export function createTenantMover(options: TenantMoverOptions): TenantMover {
  return new PgTenantMover(options);
}

class PgTenantMover implements TenantMover {
  private readonly source: ClusterSide;
  private readonly target: ClusterSide;
  /** Replicas of the source the bulk copy may read from, opened when first needed. */
  private readonly replicas: ClusterSide[];
  private catalog: Promise<TableInfo[]> | undefined;
  private slices: Promise<{ lo: number; hi: number }[]> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: TenantMoverOptions) {
    checkScope(options.scope);
    this.source = new ClusterSide('source', options.sourceUrl, options.log);
    this.target = new ClusterSide('target', options.targetUrl, options.log);
    this.replicas = (options.sourceReadUrls ?? []).map((url) => new ClusterSide('source', url, options.log));
  }

  private get scope(): MoveScope {
    return this.options.scope;
  }

  private get label(): string {
    return scopeLabel(this.options.scope);
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

  /** Rows of each table in the scope, counted on the source (tables at once, the pool's width). */
  estimateRows(): Promise<Map<string, number>> {
    return this.exclusive(async () => {
      const tables = await this.catalogList();
      const counts = await Promise.all(
        tables.map(async (t) => {
          const { rows } = await this.source.pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM ${t.qname} WHERE ${scopeWhere(this.scope)}`,
          );
          return [t.name, Number(rows[0]?.n ?? 0)] as const;
        }),
      );
      return new Map(counts);
    });
  }

  /** The scope's marker on the target and the move that set it. */
  private async targetMarker(): Promise<{ state: string; moveId: string } | null> {
    const { rows } =
      this.scope.kind === 'org'
        ? await this.target.pool.query<{ state: string; move_id: string }>(
            'SELECT state, move_id FROM orgplane_org_moves WHERE org_id = $1',
            [this.scope.orgId],
          )
        : await this.target.pool.query<{ state: string; move_id: string }>(
            'SELECT state, reason AS move_id FROM orgplane_range_markers WHERE lo = $1 AND hi = $2',
            [this.scope.lo, this.scope.hi],
          );
    return rows[0] ? { state: rows[0].state, moveId: rows[0].move_id } : null;
  }

  startCapture(): Promise<void> {
    return this.exclusive(async () => {
      const tables = await this.catalogList();
      const { scope, label } = this;
      const { moveId } = this.options;
      const fenceWaitMs = this.options.fenceDeadlineMs + FENCE_WAIT_MARGIN_MS;
      const sourceState = await scopeMarkerState(this.source.pool, scope);
      if (sourceState === 'moved') {
        throw new TenantMoveStateError(`${label} has moved away from the source cluster`, {
          hint: 'move it from the cluster that serves it now',
          details: { ...scopeLog(scope), side: 'source', state: sourceState },
        });
      }
      // The target: no rows of the scope, and a 'moved' marker until the flip, so writes
      // sent there by mistake fail instead of mixing with the copy. A 'capturing' marker
      // of another move means the scope is served there.
      const existing = await this.targetMarker();
      if (existing && existing.state !== 'moved' && existing.moveId !== moveId) {
        throw new TenantMoveStateError(`${label} is marked '${existing.state}' on the target by move ${existing.moveId}`, {
          hint: 'finish or roll back that move first',
          details: { ...scopeLog(scope), side: 'target', state: existing.state, moveId: existing.moveId },
        });
      }
      const leftovers = await deleteScopeRows(this.target, scope, [...tables].reverse());
      if (leftovers > 0) this.options.log.warn({ ...scopeLog(scope), moveId, rows: leftovers }, 'deleted leftover rows on the target');
      await inTransaction(this.target.pool, async (db) => {
        await dropChanges(db, scope);
        await setScopeMarker(db, scope, 'target', 'moved', moveId, fenceWaitMs);
      });
      if (scope.kind === 'range') {
        // The span's orgs pinned elsewhere are not the source's to serve: a write sent to
        // the source for one is refused (OPF02), never captured and carried along.
        const source = new Set(scope.pinnedToSource);
        const elsewhere = scope.pinned.filter((id) => !source.has(id));
        await this.source.pool.query(
          `INSERT INTO orgplane_org_moves (org_id, state, move_id) SELECT o, 'moved', $2 FROM unnest($1::bigint[]) AS o
           ON CONFLICT (org_id) DO NOTHING`,
          [elsewhere, moveId],
        );
      }
      await setScopeMarker(this.source.pool, scope, 'source', 'capturing', moveId, fenceWaitMs);
      await waitForOlderTransactions(this.source.pool, scope, this.options.captureWaitMs ?? 60_000);
      this.options.log.info({ ...scopeLog(scope), moveId }, 'capturing on the source');
    });
  }

  private async requireCapturing(): Promise<void> {
    const state = await scopeMarkerState(this.source.pool, this.scope);
    if (state !== 'capturing' && state !== 'fenced') {
      throw new TenantMoveStateError(`${this.label} is not being captured on the source (marker: ${state ?? 'none'})`, {
        hint: 'run startCapture first; a copy without capture would miss concurrent writes',
        details: { ...scopeLog(this.scope), side: 'source', state },
      });
    }
  }

  /**
   * A span's slices for parallel streams: `copyStreams` sub-spans holding about as many
   * orgs each (ntile over the source's organizations), covering the span. One slice when
   * there is one stream or no org.
   */
  private sliceList(): Promise<{ lo: number; hi: number }[]> {
    const scope = this.scope;
    const streams = this.options.copyStreams ?? 1;
    if (scope.kind === 'org' || streams <= 1) return Promise.resolve([]);
    this.slices ??= (async () => {
      const { rows } = await this.source.pool.query<{ lo: string }>(
        `SELECT min(org_id)::text AS lo FROM (
           SELECT org_id, ntile($1) OVER (ORDER BY org_id) AS b FROM organizations WHERE ${scopeWhere(scope)}) x
         GROUP BY b ORDER BY 1`,
        [streams],
      );
      const starts = [scope.lo, ...rows.slice(1).map((r) => Number(r.lo))];
      return starts.map((lo, i) => ({ lo, hi: i + 1 < starts.length ? starts[i + 1]! - 1 : scope.hi }));
    })();
    return this.slices;
  }

  /**
   * A replica of the source that has replayed past the source's current WAL position (so
   * past the capture's start: every write its snapshot misses is in the change log), or
   * null for the primary. Each is given REPLICA_CATCH_UP_WAIT_MS to get there.
   */
  private async caughtUpReplica(): Promise<ClusterSide | null> {
    if (this.replicas.length === 0) return null;
    const { rows } = await this.source.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const lsn = rows[0]!.lsn;
    const until = Date.now() + REPLICA_CATCH_UP_WAIT_MS;
    let candidates = [...this.replicas];
    for (;;) {
      const answers = await Promise.all(candidates.map((replica) => this.replayedPast(replica, lsn)));
      const ready = answers.indexOf('yes');
      if (ready >= 0) return candidates[ready]!;
      candidates = candidates.filter((_, i) => answers[i] === 'behind');
      if (candidates.length === 0 || Date.now() >= until) return null;
      await sleep(50);
    }
  }

  /** 'unusable': not a replica at all (promoted, misconfigured) or not answering; never read the copy from it. */
  private async replayedPast(replica: ClusterSide, lsn: string): Promise<'yes' | 'behind' | 'unusable'> {
    try {
      const { rows } = await replica.pool.query<{ ok: boolean | null }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]);
      const ok = rows[0]?.ok ?? null;
      return ok === null ? 'unusable' : ok ? 'yes' : 'behind';
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'a replica of the source did not answer; not reading the copy from it');
      return 'unusable';
    }
  }

  copyTable(table: TenantTable, onProgress: (p: CopyProgress) => void): Promise<TableCopyResult> {
    return this.exclusive(async () => {
      const info = (await this.catalogMap()).get(table.name);
      if (!info) throw new TenantMoveStateError(`${table.name} is not a tenant table`, { details: { table: table.name } });
      await this.requireCapturing();
      const replica = await this.caughtUpReplica();
      let readFrom: 'replica' | 'primary' = replica ? 'replica' : 'primary';
      const result = await copyScopeTable({
        source: this.source,
        ...(replica ? { reader: replica } : {}),
        target: this.target,
        table: info,
        scope: this.scope,
        slices: await this.sliceList(),
        onProgress,
        onFallback: (err) => {
          readFrom = 'primary';
          this.options.log.warn(
            { table: info.name, err: (err as Error).message },
            'a copy stream from the replica failed; copying its slice from the primary',
          );
        },
      });
      this.options.log.info(
        { ...scopeLog(this.scope), table: info.name, rows: result.rows, bytes: result.bytes, readFrom },
        'copied table',
      );
      return { ...result, readFrom };
    });
  }

  /** One replay batch from `from` to `to`, each in its own transaction; `to` commits first. */
  private async replayOnce(from: ClusterSide, to: ClusterSide, limit: number): Promise<KeySet & { consumed: number }> {
    const catalog = await this.catalogMap();
    return inTransaction(
      from.pool,
      (fromDb) =>
        inTransaction(to.replicaPool, async (toDb) => {
          const batch = await replayBatch(fromDb, toDb, catalog, this.scope, limit);
          // Nothing commits: the entries stay logged for whoever looks into it.
          if (!batch.tables.every(matches))
            throw new ReplayMismatchError(
              this.label,
              scopeLog(this.scope),
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
    return { applied, pending: await pendingChanges(this.source.pool, this.scope) };
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
    const scope = this.scope;
    // One REPEATABLE READ snapshot on the source: replay up to it, then checksum both sides.
    const results = await inTransaction(
      this.source.pool,
      async (source) => {
        for (;;) {
          const consumed = await inTransaction(this.target.replicaPool, async (target) => {
            const batch = await replayBatch(source, target, catalog, scope, REPLAY_BATCH);
            if (!batch.tables.every(matches))
              throw new ReplayMismatchError(
                this.label,
                scopeLog(scope),
                batch.tables.filter((t) => !matches(t)),
              );
            return batch.consumed;
          });
          if (consumed < REPLAY_BATCH) break;
        }
        const checked = [];
        for (const table of tables) {
          const [s, t] = await Promise.all([scopeChecksum(source, table, scope), scopeChecksum(this.target.pool, table, scope)]);
          checked.push(compare(table.name, s, t));
        }
        return checked;
      },
      { isolation: 'repeatable read' },
    );
    const ok = results.every(matches);
    this.options.log.info({ ...scopeLog(scope), ok }, 'verified the target');
    return { ok, tables: results };
  }

  cutover(hooks: CutoverHooks): Promise<CutoverResult> {
    return this.exclusive(async () => {
      const { scope } = this;
      const { moveId } = this.options;
      const state = await scopeMarkerState(this.source.pool, scope);
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
          scope,
          deadlineMs: this.options.fenceDeadlineMs,
          catalog: await this.catalogMap(),
          log: this.options.log,
          async finish(source, target) {
            await setScopeMarker(target, scope, 'target', 'capturing', moveId, fenceWaitMs);
            await updateScopeState(source, scope, 'moved');
          },
          async release(source, target) {
            await updateScopeState(source, scope, 'capturing');
            await dropChanges(target, scope);
            await setScopeMarker(target, scope, 'target', 'moved', moveId, fenceWaitMs);
          },
        },
        { ...hooks, flip: () => hooks.flip(verified?.tables) },
      );
      return result;
    });
  }

  rollback(hooks: CutoverHooks): Promise<CutoverResult> {
    return this.exclusive(async () => {
      const { scope, label } = this;
      const { moveId } = this.options;
      const [targetState, sourceState] = [await scopeMarkerState(this.target.pool, scope), await scopeMarkerState(this.source.pool, scope)];
      const flipped = targetState === 'capturing' || targetState === 'fenced';
      // A rollback that died after marking both sides: the source is 'fenced' or free.
      const resumable = targetState === 'moved' && (sourceState === null || sourceState === 'fenced');
      if (!(flipped && sourceState === 'moved') && !resumable) {
        throw new TenantMoveStateError(
          `${label} has not flipped to the target (source: ${sourceState ?? 'none'}, target: ${targetState ?? 'none'})`,
          {
            hint: 'before the flip, abort the move instead',
            details: { ...scopeLog(scope), sourceState, targetState },
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
          scope,
          deadlineMs: this.options.fenceDeadlineMs,
          catalog: await this.catalogMap(),
          log: this.options.log,
          async finish(target, source) {
            await updateScopeState(target, scope, 'moved');
            await dropChanges(source, scope);
            // 'fenced', not served yet: writers sent to the source wait on its fence until
            // the flip, instead of slipping past the trigger before it is certain.
            await setScopeMarker(source, scope, 'source', 'fenced', moveId, fenceWaitMs);
          },
          async afterFlip(_target, source) {
            await serveScope(source, scope, moveId);
          },
          async release(target, source) {
            await updateScopeState(target, scope, 'capturing');
            await setScopeMarker(source, scope, 'source', 'moved', moveId, fenceWaitMs);
          },
        },
        hooks,
      );
      if (result.outcome === 'flipped') {
        // The source serves the scope again; the target keeps its 'moved' marker.
        const deleted = await deleteScopeRows(this.target, scope, [...(await this.catalogList())].reverse());
        await dropChanges(this.target.pool, scope);
        this.options.log.info({ ...scopeLog(scope), moveId, deletedRows: deleted }, 'rolled back: the source serves it again');
      }
      return result;
    });
  }

  abort(): Promise<void> {
    return this.exclusive(async () => {
      const { scope, label } = this;
      const { moveId } = this.options;
      const state = await scopeMarkerState(this.source.pool, scope);
      if (state === 'moved') {
        throw new TenantMoveStateError(`${label} has flipped to the target; it can no longer be aborted`, {
          hint: 'roll the move back instead',
          details: { ...scopeLog(scope), side: 'source', state },
        });
      }
      await underFence(this.source, scope, this.options.fenceDeadlineMs, async (db) => {
        await serveScope(db, scope, moveId);
        await dropChanges(db, scope);
      });
      const deleted = await deleteScopeRows(this.target, scope, [...(await this.catalogList())].reverse());
      await inTransaction(this.target.pool, async (db) => {
        await dropChanges(db, scope);
        // A marker the interrupted cutover left becomes 'moved': the scope is not served here.
        await updateScopeState(db, scope, 'moved');
      });
      this.options.log.info({ ...scopeLog(scope), moveId, deletedRows: deleted }, 'aborted: target rows removed, source untouched');
    });
  }

  complete(onProgress?: (deletedRows: number) => void): Promise<{ deletedRows: number }> {
    return this.exclusive(async () => {
      const { scope, label } = this;
      const { moveId } = this.options;
      const [sourceState, targetState] = [await scopeMarkerState(this.source.pool, scope), await scopeMarkerState(this.target.pool, scope)];
      if (sourceState !== 'moved' || (targetState !== 'capturing' && targetState !== null)) {
        throw new TenantMoveStateError(
          `${label} has not flipped to the target (source: ${sourceState ?? 'none'}, target: ${targetState ?? 'none'})`,
          {
            hint: 'complete only a flipped move',
            details: { ...scopeLog(scope), sourceState, targetState },
          },
        );
      }
      // A transaction that checked ownership before the flip may still read the source:
      // its rows stay until every such transaction has ended.
      const since = (await scopeMarkedAt(this.source.pool, scope)) ?? new Date();
      await waitForOlderTransactions(this.source.pool, scope, this.options.captureWaitMs ?? 60_000, { waitingFor: 'complete', since });
      const deletedRows = await deleteScopeRows(this.source, scope, [...(await this.catalogList())].reverse(), onProgress);
      // The source keeps its 'moved' marker: stale readers and writers keep failing with OPF02.
      await dropChanges(this.source.pool, scope);
      await underFence(this.target, scope, this.options.fenceDeadlineMs, async (db) => {
        await serveScope(db, scope, moveId);
        await dropChanges(db, scope);
      });
      this.options.log.info({ ...scopeLog(scope), moveId, deletedRows }, 'completed: source rows deleted');
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
    await Promise.all([this.source.end(), this.target.end(), ...this.replicas.map((r) => r.end())]);
  }
}
