// The write-block window of a cutover (source -> target) or of a rollback (target ->
// source), as one routine: take the org's fence on the side that serves it, drain its
// last logged changes to the other side, compare exactly the keys carried since the
// last full verification, mark both sides, let the executor flip, let go. The window
// grows with the changes since the last verify, never with the org's size.
//
// The side taking over is fenced too (its own advisory lock, uncontended: the org is
// not served there): between `finish` and the end, a write sent there waits, and then
// either goes ahead after the flip or fails with OPF02 if the flip was given up.
//
// Writers queue behind the fence's advisory lock (the capture trigger), so the lock
// wait itself counts against the deadline (lock_timeout); every later step runs under
// a statement_timeout of what is left. Missing the deadline, or a mismatch, puts the
// markers back, tells the executor (released) and lets go: the fenced side serves on.
import type pg from 'pg';
import { sqlState } from '../../../db/Database.js';
import { TenantMoveStateError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { ClusterSide } from './ClusterSide.js';
import { type KeySet, replayBatch } from './changeReplay.js';
import type { TableInfo } from './TableCatalog.js';
import type { CutoverHooks, CutoverResult } from './TenantMover.js';
import { matches, verifyKeys } from './verifier.js';

export type MarkerState = 'capturing' | 'fenced' | 'moved';

export interface FencePlan {
  kind: 'cutover' | 'rollback';
  /** The side serving the org now: fenced, and its log drained. */
  fenceSide: ClusterSide;
  /** The side taking over: receives the rows in a replica-role session. */
  applySide: ClusterSide;
  orgId: number;
  deadlineMs: number;
  catalog: Map<string, TableInfo>;
  /** Keys carried since the sides were last compared in full; the drain adds to it. */
  keys: KeySet;
  /** Mark both sides for the flip; idempotent (a rerun after a crash repeats it). */
  finish(fence: pg.Client, apply: pg.Client): Promise<void>;
  /** After a successful flip, before both fences are let go. */
  afterFlip?(fence: pg.Client, apply: pg.Client): Promise<void>;
  /** Undo `finish` or the 'fenced' state: the fenced side serves the org again. */
  release(fence: pg.Client, apply: pg.Client): Promise<void>;
  log: Logger;
}

const DRAIN_BATCH = 5000;
/** SQLSTATEs of a statement cut short by our own timeouts. */
const TIMED_OUT = new Set(['57014', '55P03']);

export async function markerState(db: pg.ClientBase | pg.Pool, orgId: number): Promise<MarkerState | null> {
  const { rows } = await db.query<{ state: MarkerState }>('SELECT state FROM orgplane_org_moves WHERE org_id = $1', [orgId]);
  return rows[0]?.state ?? null;
}

/** `ms` null: no timeout. */
async function setTimeouts(clients: pg.Client[], ms: number | null): Promise<void> {
  const value = ms === null ? '0' : `${Math.max(1, Math.ceil(ms))}ms`;
  await Promise.all(clients.map((c) => c.query(`SELECT set_config('statement_timeout', $1, false)`, [value])));
}

export async function runFence(plan: FencePlan, hooks: CutoverHooks): Promise<CutoverResult> {
  const { orgId, log } = plan;
  const startedAt = Date.now();
  const deadlineAt = startedAt + plan.deadlineMs;
  const left = () => deadlineAt - Date.now();
  const fence = await plan.fenceSide.connect(false);
  let apply: pg.Client | undefined;
  let lockedAt: number | undefined;
  let step = 'lock';
  let gaveUp = false;

  // Put the markers back, tell the executor, let go of the fence.
  const giveUp = async (reason: string): Promise<void> => {
    gaveUp = true;
    const a = apply as pg.Client;
    await Promise.all([fence.query('ROLLBACK'), a.query('ROLLBACK')]);
    await setTimeouts([fence, a], null);
    await plan.release(fence, a);
    await hooks.released(reason);
    await unlock();
    log.warn({ orgId, kind: plan.kind, step, reason }, 'fence released without a flip');
  };
  const fenceMs = () => Date.now() - (lockedAt ?? startedAt);
  const unlock = async () => {
    await (apply as pg.Client).query('SELECT pg_advisory_unlock_all()');
    await fence.query('SELECT pg_advisory_unlock_all()');
  };

  try {
    apply = await plan.applySide.connect(true);
    await fence.query(`SELECT set_config('lock_timeout', $1, false)`, [`${Math.max(1, left())}ms`]);
    await apply.query(`SELECT set_config('lock_timeout', $1, false)`, [`${Math.max(1, left())}ms`]);
    try {
      await fence.query('SELECT pg_advisory_lock(orgplane_fence_key($1))', [orgId]);
      lockedAt = Date.now();
      await apply.query('SELECT pg_advisory_lock(orgplane_fence_key($1))', [orgId]);
    } catch (err) {
      if (sqlState(err) === '55P03') {
        await fence.query('SELECT pg_advisory_unlock_all()');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
      throw err;
    }
    await fence.query(`SELECT set_config('lock_timeout', '0', false)`);
    await apply.query(`SELECT set_config('lock_timeout', '0', false)`);
    const state = await markerState(fence, orgId);
    if (state === null) {
      throw new TenantMoveStateError(`org ${orgId} is not being captured on the ${plan.fenceSide.name}; nothing to ${plan.kind}`, {
        details: { orgId, side: plan.fenceSide.name },
      });
    }
    // 'moved' here means an earlier run marked both sides and died before the flip
    // returned: the data was verified then and nobody could write since.
    const resumed = state === 'moved';
    if (!resumed) await fence.query(`UPDATE orgplane_org_moves SET state = 'fenced', updated_at = now() WHERE org_id = $1`, [orgId]);
    step = 'fenced';
    try {
      await hooks.fenced();
    } catch (err) {
      await giveUp(`the fenced hook failed: ${(err as Error).message}`);
      throw err;
    }

    let finalChanges = 0;
    if (!resumed) {
      step = 'drain';
      if (left() <= 0) {
        await giveUp('fence deadline');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
      await setTimeouts([fence, apply], left());
      // Writers are blocked, so one snapshot sees every change there will be.
      await fence.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await apply.query('BEGIN');
      for (;;) {
        const batch = await replayBatch(fence, apply, plan.catalog, orgId, DRAIN_BATCH);
        plan.keys.addAll(batch.keys);
        finalChanges += batch.consumed;
        if (batch.consumed < DRAIN_BATCH) break;
      }
      step = 'verify';
      const tables = await verifyKeys(fence, apply, plan.catalog, plan.keys);
      if (!tables.every(matches)) {
        await giveUp('rows differ between the clusters');
        log.error({ orgId, kind: plan.kind, tables: tables.filter((t) => !matches(t)) }, 'verification under the fence failed');
        return { outcome: 'mismatch', fenceMs: fenceMs(), tables };
      }
      if (left() <= 0) {
        await giveUp('fence deadline');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
      await apply.query('COMMIT');
      await fence.query('COMMIT');
      step = 'mark';
      if (left() <= 0) {
        await giveUp('fence deadline');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
    }
    await plan.finish(fence, apply);
    // The flip is the commit point: once both sides are marked it runs to the end.
    step = 'flip';
    await setTimeouts([fence, apply], null);
    try {
      await hooks.flip();
    } catch (err) {
      await giveUp(`the flip failed: ${(err as Error).message}`);
      throw err;
    }
    step = 'flipped';
    await plan.afterFlip?.(fence, apply);
    await unlock();
    const ms = fenceMs();
    log.info({ orgId, kind: plan.kind, fenceMs: ms, finalChanges, resumed }, 'flipped');
    return { outcome: 'flipped', fenceMs: ms, finalChanges };
  } catch (err) {
    // Before the flip, any failure gives the org back to the side that served it.
    if (lockedAt !== undefined && !gaveUp && step !== 'flipped') {
      const timedOut = TIMED_OUT.has(sqlState(err) ?? '');
      try {
        await giveUp(timedOut ? 'fence deadline' : `the ${plan.kind} failed at ${step}: ${(err as Error).message}`);
      } catch (releaseErr) {
        // The session ends below, which lets go of the fence; the markers say
        // 'fenced' (writes go ahead) or 'moved' (a rerun finishes the flip).
        log.error({ orgId, kind: plan.kind, step, err: releaseErr }, 'could not put the markers back');
      }
      if (timedOut) return { outcome: 'deadline', fenceMs: fenceMs(), step };
    }
    throw err;
  } finally {
    // Ending the session also lets go of the lock if anything above failed.
    await plan.fenceSide.drop(fence);
    if (apply) await plan.applySide.drop(apply);
  }
}
