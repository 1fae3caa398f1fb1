// The write-block window of a cutover (source -> target) or of a rollback (target ->
// source), for an org or a span of orgs alike, as one routine: take the scope's fence on the side that serves it, drain its
// last logged changes to the other side, comparing each batch's keys on both sides as
// it goes (everything before was verified the same way, after one full verification
// outside the fence), mark both sides, let the executor flip, let go. The window grows
// with the writes it drains, never with the org's size.
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
import { replayBatch } from './changeReplay.js';
import { fenceKeySql, type MoveScope, scopeLabel, scopeLog } from './MoveScope.js';
import { scopeMarkerState, updateScopeState } from './orgOnCluster.js';
import type { TableInfo } from './TableCatalog.js';
import type { CutoverHooks, CutoverResult } from './TenantMover.js';
import { matches } from './verifier.js';

export interface FencePlan {
  kind: 'cutover' | 'rollback';
  /** The side serving the org now: fenced, and its log drained. */
  fenceSide: ClusterSide;
  /** The side taking over: receives the rows in a replica-role session. */
  applySide: ClusterSide;
  scope: MoveScope;
  deadlineMs: number;
  catalog: Map<string, TableInfo>;
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

/** `ms` null: no timeout. */
async function setTimeouts(clients: pg.Client[], ms: number | null): Promise<void> {
  const value = ms === null ? '0' : `${Math.max(1, Math.ceil(ms))}ms`;
  await Promise.all(clients.map((c) => c.query(`SELECT set_config('statement_timeout', $1, false)`, [value])));
}

export async function runFence(plan: FencePlan, hooks: CutoverHooks): Promise<CutoverResult> {
  const { scope, log } = plan;
  const lockSql = `SELECT pg_advisory_lock(${fenceKeySql(scope)})`;
  const logged = scopeLog(scope);
  const startedAt = Date.now();
  const deadlineAt = startedAt + plan.deadlineMs;
  const left = () => deadlineAt - Date.now();
  const fence = await plan.fenceSide.connect(false);
  let apply: pg.Client | undefined;
  let lockedAt: number | undefined;
  let step = 'lock';
  /** ms spent in each step, for the log. */
  const timings: Record<string, number> = {};
  let stepStartedAt = startedAt;
  const enter = (next: string) => {
    const now = Date.now();
    timings[step] = now - stepStartedAt;
    stepStartedAt = now;
    step = next;
  };
  let gaveUp = false;
  let flipped = false;

  // Put the markers back, tell the executor, let go of the fence.
  const giveUp = async (reason: string): Promise<void> => {
    gaveUp = true;
    const a = apply as pg.Client;
    await Promise.all([fence.query('ROLLBACK'), a.query('ROLLBACK')]);
    await setTimeouts([fence, a], null);
    await plan.release(fence, a);
    await hooks.released(reason);
    await unlock();
    log.warn({ ...logged, kind: plan.kind, step, reason }, 'fence released without a flip');
  };
  const fenceMs = () => Date.now() - (lockedAt ?? startedAt);
  const unlock = async () => {
    await (apply as pg.Client).query('SELECT pg_advisory_unlock_all()');
    await fence.query('SELECT pg_advisory_unlock_all()');
  };

  try {
    apply = await plan.applySide.connect(true);
    // One last catch-up on these very sessions, so the drain under the fence carries
    // only what was written while the connections opened and the lock was taken.
    await fence.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await apply.query('BEGIN');
    for (;;) {
      const batch = await replayBatch(fence, apply, plan.catalog, scope, DRAIN_BATCH);
      if (!batch.tables.every(matches)) {
        await Promise.all([fence.query('ROLLBACK'), apply.query('ROLLBACK')]);
        return { outcome: 'mismatch', fenceMs: 0, tables: batch.tables };
      }
      if (batch.consumed < DRAIN_BATCH) break;
    }
    await apply.query('COMMIT');
    await fence.query('COMMIT');
    stepStartedAt = Date.now();
    await fence.query(`SELECT set_config('lock_timeout', $1, false)`, [`${Math.max(1, left())}ms`]);
    await apply.query(`SELECT set_config('lock_timeout', $1, false)`, [`${Math.max(1, left())}ms`]);
    try {
      await fence.query(lockSql);
      lockedAt = Date.now();
      await apply.query(lockSql);
    } catch (err) {
      if (sqlState(err) === '55P03') {
        await fence.query('SELECT pg_advisory_unlock_all()');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
      throw err;
    }
    await fence.query(`SELECT set_config('lock_timeout', '0', false)`);
    await apply.query(`SELECT set_config('lock_timeout', '0', false)`);
    const state = await scopeMarkerState(fence, scope);
    if (state === null) {
      throw new TenantMoveStateError(`${scopeLabel(scope)} is not being captured on the ${plan.fenceSide.name}; nothing to ${plan.kind}`, {
        details: { ...logged, side: plan.fenceSide.name },
      });
    }
    // 'moved' here means an earlier run marked both sides and died before the flip
    // returned: the data was verified then and nobody could write since.
    const resumed = state === 'moved';
    if (!resumed) await updateScopeState(fence, scope, 'fenced');
    enter('fenced');
    try {
      await hooks.fenced();
    } catch (err) {
      await giveUp(`the fenced hook failed: ${(err as Error).message}`);
      throw err;
    }

    let finalChanges = 0;
    if (!resumed) {
      enter('drain');
      if (left() <= 0) {
        await giveUp('fence deadline');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
      await setTimeouts([fence, apply], left());
      // Writers are blocked, so one snapshot sees every change there will be.
      await fence.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await apply.query('BEGIN');
      let keysVerified = 0;
      for (;;) {
        const batch = await replayBatch(fence, apply, plan.catalog, scope, DRAIN_BATCH);
        finalChanges += batch.consumed;
        keysVerified += batch.keys.size;
        if (!batch.tables.every(matches)) {
          const tables = batch.tables;
          await giveUp('rows differ between the clusters');
          log.error({ ...logged, kind: plan.kind, tables: tables.filter((t) => !matches(t)) }, 'verification under the fence failed');
          return { outcome: 'mismatch', fenceMs: fenceMs(), tables };
        }
        if (batch.consumed < DRAIN_BATCH) break;
      }
      timings.keysVerified = keysVerified;
      if (left() <= 0) {
        await giveUp('fence deadline');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
      await apply.query('COMMIT');
      await fence.query('COMMIT');
      enter('mark');
      if (left() <= 0) {
        await giveUp('fence deadline');
        return { outcome: 'deadline', fenceMs: fenceMs(), step };
      }
    }
    await plan.finish(fence, apply);
    // The flip is the commit point: once both sides are marked it runs to the end.
    enter('flip');
    await setTimeouts([fence, apply], null);
    try {
      await hooks.flip();
    } catch (err) {
      await giveUp(`the flip failed: ${(err as Error).message}`);
      throw err;
    }
    flipped = true;
    enter('flipped');
    await plan.afterFlip?.(fence, apply);
    await unlock();
    const ms = fenceMs();
    enter('done');
    log.info({ ...logged, kind: plan.kind, fenceMs: ms, finalChanges, resumed, timings }, 'flipped');
    return { outcome: 'flipped', fenceMs: ms, finalChanges };
  } catch (err) {
    // Before the flip, any failure gives the org back to the side that served it.
    if (lockedAt !== undefined && !gaveUp && !flipped) {
      const timedOut = TIMED_OUT.has(sqlState(err) ?? '');
      try {
        await giveUp(timedOut ? 'fence deadline' : `the ${plan.kind} failed at ${step}: ${(err as Error).message}`);
      } catch (releaseErr) {
        // The session ends below, which lets go of the fence; the markers say
        // 'fenced' (writes go ahead) or 'moved' (a rerun finishes the flip).
        log.error({ ...logged, kind: plan.kind, step, err: releaseErr }, 'could not put the markers back');
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
