// Runs moves in the background on the one instance that holds the executor's advisory
// lock (on a dedicated control-DB connection: when that instance dies, its session ends,
// the lock is free and another instance takes over). Each move is driven one step at a
// time, and every step ends by persisting its outcome (a compare-and-set on the move's
// state), so a process killed at any point resumes from the last persisted step:
//
//   pending -> preparing (tables, capture) -> copying (table by table; a table without
//   copied_at is copied again) -> catching_up -> cutting_over -> flipped -> (grace)
//   -> completing -> completed
//
// plus waiting (fence deadline missed; retried later), failed (stopped; `resume`),
// aborting -> aborted, rolling_back -> rolled_back. A move found in cutting_over when a
// run starts was interrupted mid-cutover: it cuts over again (the tenant side finishes a
// flip whose markers were set, or fences anew).

import { backoffMs, sleep } from '@orgplane/kit';
import type { ConfigDelta, WirePlacement, WireRange } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { LeaderLock } from '../../db/LeaderLock.js';
import { scrubUrlPasswords } from '../../lib/postgresUrl.js';
import type { Logger } from '../../logger.js';
import type { Stores } from '../../stores.js';
import type { AuditAction } from '../audit/AuditStore.js';
import type { Actor } from '../auth/Actor.js';
import { commitConfigChange } from '../config/commitConfigChange.js';
import { assignSpan } from '../shard-map/rangeRules.js';
import type { MoveRecord, MoveState, TenantMoverFactory } from './Move.js';
import { MOVES_CHANNEL, type MovePatch } from './MoveStore.js';
import { type MoveScope, orgScope, scopeLog } from './tenant/MoveScope.js';
import type { CutoverHooks, CutoverResult, TableVerification, TenantMover, TenantTable } from './tenant/TenantMover.js';

/** The executor's advisory-lock key on the control DB ("opmove"). */
export const MOVE_EXECUTOR_LOCK_KEY = 0x6f706d6f7665n;

const EXECUTOR_ACTOR: Actor = { name: 'move-executor', tokenId: null, scope: 'admin' };

export interface MoveMetricsSink {
  rowsCopied(rows: number): void;
  bytesCopied(bytes: number): void;
  fenceWindow(seconds: number, outcome: CutoverResult['outcome']): void;
}

export interface MoveExecutorOptions {
  /** The control DB, for the lock connection (with credentials: never logged). */
  databaseUrl: string;
  db: Database<Stores>;
  createMover: TenantMoverFactory;
  log: Logger;
  metrics?: MoveMetricsSink;
  /** Moves running at once on this instance, over every batch. */
  concurrency: number;
  /** How often to look for due moves and retry the lock. */
  pollMs: number;
  /** Copy and catch-up pause while the source's replicas are further behind than this. */
  lagThresholdBytes: number;
  /** Ceiling of the first retry delay after a failed step or a missed fence deadline (full jitter); doubles each time. */
  retryBaseMs: number;
  /** A step that fails this many times in a row leaves the move `failed`. */
  maxFailures: number;
  /** Missed fence deadlines before a move is left `failed` instead of `waiting`. */
  maxCutoverAttempts?: number;
  /** Changes replayed per catchUp call. */
  catchUpBatch?: number;
  /** Cut over once no more than this many changes are pending. */
  cutoverPendingChanges?: number;
}

const RETRY_MAX_MS = 5 * 60_000;
const PROGRESS_FLUSH_MS = 500;

/** A step stopped because the executor stopped, lost its lock, or the move changed under it. */
class Cancelled extends Error {}

interface Worker {
  moveId: string;
  batchId: string;
  mover: TenantMover | null;
  cancelled: boolean;
  inCutover: boolean;
  done: Promise<void>;
}

export class MoveExecutor {
  private readonly lock: LeaderLock;
  private readonly workers = new Map<string, Worker>();
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;

  constructor(private readonly options: MoveExecutorOptions) {
    this.lock = new LeaderLock({
      databaseUrl: options.databaseUrl,
      key: MOVE_EXECUTOR_LOCK_KEY,
      applicationName: 'orgplane-move-executor',
      log: options.log,
      onAcquired: async (client) => {
        await client.query(`LISTEN ${MOVES_CHANNEL}`);
        client.on('notification', () => this.wake());
        options.log.info('move executor: holding the lock; running moves on this instance');
      },
      // Another instance may take the moves over now: stop touching them.
      onLost: () => {
        for (const worker of this.workers.values()) this.cancel(worker);
      },
    });
  }

  /** True while this instance holds the lock (and so runs moves). */
  get leading(): boolean {
    return this.lock.isLeader;
  }

  get running(): number {
    return this.workers.size;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Stop taking work; interrupt copies and catch-ups, let a cutover finish; release the lock. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    for (const worker of this.workers.values()) if (!worker.inCutover) this.cancel(worker);
    await Promise.allSettled([...this.workers.values()].map((w) => w.done));
    await this.loop;
    await this.lock.release();
  }

  /** Look for work now (new moves are also announced by NOTIFY). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (await this.lock.acquire()) await this.schedule();
      } catch (err) {
        this.options.log.warn({ err }, 'move executor: scheduling failed; retrying');
      }
      await this.idle(this.options.pollMs);
    }
  }

  private async idle(ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return;
    }
    const waking = new AbortController();
    this.wakeUp = () => waking.abort();
    await sleep(ms, { signal: waking.signal, unref: true });
    this.wakeUp = null;
    this.woken = false;
  }

  private async schedule(): Promise<void> {
    // Ask the server, not only the connection's last word, before starting moves.
    if (!(await this.lock.stillLeader())) return;
    const due = await this.options.db.stores.moves.runnable();
    for (const move of due) {
      if (this.stopped || !this.lock.isLeader) return;
      if (this.workers.size >= this.options.concurrency) return;
      if (this.workers.has(move.id)) continue;
      let inBatch = 0;
      for (const w of this.workers.values()) if (w.batchId === move.batchId) inBatch++;
      if (inBatch >= move.concurrency) continue;
      this.startWorker(move.id, move.batchId);
    }
  }

  private startWorker(moveId: string, batchId: string): void {
    const worker: Worker = { moveId, batchId, mover: null, cancelled: false, inCutover: false, done: Promise.resolve() };
    this.workers.set(moveId, worker);
    worker.done = this.runMove(worker)
      .catch((err: unknown) => this.options.log.error({ err, moveId }, 'move executor: a move run failed unexpectedly'))
      .finally(() => {
        this.workers.delete(moveId);
        this.wake();
      });
  }

  private cancel(worker: Worker): void {
    if (worker.cancelled) return;
    worker.cancelled = true;
    // Closing the mover's connections interrupts a copy or catch-up in flight.
    void worker.mover?.close().catch(() => {});
  }

  private async runMove(worker: Worker): Promise<void> {
    const { stores } = this.options.db;
    let move = await stores.moves.get(worker.moveId);
    if (!move) return;
    const source = await stores.clusters.get(move.from);
    const target = await stores.clusters.get(move.to);
    if (!source || !target) {
      await this.fail(move, new Error(`cluster '${source ? move.to : move.from}' no longer exists`));
      return;
    }
    const scope = await this.scopeOf(move);
    const log = this.options.log.child({ moveId: move.id, ...scopeLog(scope) });
    const mover = this.options.createMover({
      moveId: move.id,
      scope,
      sourceUrl: source.primaryUrl,
      targetUrl: target.primaryUrl,
      fenceDeadlineMs: move.fenceDeadlineMs,
      copyStreams: move.copyStreams,
      sourceReadUrls: await this.readUrls(move),
      log,
    });
    worker.mover = mover;
    let first = true;
    try {
      for (;;) {
        if (worker.cancelled) return;
        move = await stores.moves.get(worker.moveId);
        if (!move || !isDue(move)) return;
        const more = await this.step(worker, mover, move, first);
        first = false;
        if (!more) return;
      }
    } catch (err) {
      if (worker.cancelled || err instanceof Cancelled) return;
      log.warn({ err, state: move?.state }, 'move step failed');
      // The step may have persisted a state before it threw (cutting_over): fail from there.
      const current = await stores.moves.get(worker.moveId);
      if (current && isDue(current)) await this.failStep(current, err);
    } finally {
      worker.mover = null;
      await mover.close().catch(() => {});
    }
  }

  /** What the move carries: its org, or its span with the pins inside it (fixed while it runs). */
  private async scopeOf(move: MoveRecord): Promise<MoveScope> {
    if (move.kind === 'org') return orgScope(move.orgId!);
    const pins = await this.options.db.stores.placements.getMany(move.pinnedOrgIds);
    const pinnedTo = (clusterId: string) => [...pins.values()].filter((p) => p.clusterId === clusterId).map((p) => p.orgId);
    return {
      kind: 'range',
      lo: move.range!.lo,
      hi: move.range!.hi,
      pinned: move.pinnedOrgIds,
      pinnedToSource: pinnedTo(move.from),
      pinnedToTarget: pinnedTo(move.to),
    };
  }

  /** A range move's bulk copy may read from the source's healthy replicas (the mover checks their replay position). */
  private async readUrls(move: MoveRecord): Promise<string[]> {
    if (move.kind !== 'range' || move.readFrom !== 'replica') return [];
    const replicas = await this.options.db.stores.replicaHealth.list(move.from);
    return replicas.filter((r) => r.state === 'healthy').map((r) => r.url);
  }

  /** One step; true when the move has more to do right away. */
  private async step(worker: Worker, mover: TenantMover, move: MoveRecord, firstInRun: boolean): Promise<boolean> {
    const { stores } = this.options.db;
    switch (move.state) {
      case 'pending':
        return this.advance(move, { state: 'preparing' }, 'preparing: listing tables and starting change capture');
      case 'preparing': {
        const tables = await mover.tables();
        await stores.moves.setTables(
          move.id,
          tables.map((t) => t.name),
        );
        await mover.startCapture();
        // A range move's progress needs a denominator: the span's rows, counted once.
        if (move.kind === 'range') await stores.moves.setEstimatedRows(move.id, await mover.estimateRows());
        return this.advance(move, { state: 'copying' }, `capturing changes; copying ${tables.length} tables`);
      }
      case 'copying':
        await this.copy(worker, mover, move);
        return this.advance(move, { state: 'catching_up' }, 'every table copied; catching up');
      case 'catching_up':
        await this.catchUp(worker, mover, move);
        // Failures carry over: a cutover that keeps failing must end in `failed`, not loop.
        if (
          !(await this.advance(
            move,
            { state: 'cutting_over', incrementAttempt: true, failures: move.failures, error: move.error ?? null },
            'cutting over: fencing the org',
          ))
        )
          return false;
        return this.cutover(worker, mover, (await stores.moves.get(move.id))!);
      case 'cutting_over':
        // A cutover in progress is never picked up again by the run that started it:
        // here a crash, a restart or a failed step interrupted it before the flip
        // committed. Run it again; the tenant markers say how far it got. Before both
        // sides were marked, the source still takes (and logs) writes: the cutover
        // catches up, verifies and fences anew. After (the source refuses the org's
        // writes with OPF02, nobody could write since), it finishes the flip. Going
        // back to catching_up instead would leave such an org refused everywhere.
        if (!firstInRun) return false;
        await stores.moves.event(move.id, 'cutting_over', 'an interrupted cutover: cutting over again');
        return this.cutover(worker, mover, move);
      case 'waiting':
        return this.advance(move, { state: 'catching_up', nextAttemptAt: null }, 'retrying the cutover');
      case 'flipped':
        return this.advance(move, { state: 'completing' }, 'grace period over: deleting the source rows');
      case 'completing': {
        const { deletedRows } = await mover.complete();
        await this.advance(move, { state: 'completed', completed: true }, `completed: ${deletedRows} source rows deleted`);
        return false;
      }
      case 'aborting':
        await this.releaseFence(move, move.from, 'an abort');
        await mover.abort();
        await this.advance(move, { state: 'aborted', completed: true }, 'aborted: target rows removed; the source serves the org');
        return false;
      case 'rolling_back':
        return this.rollback(worker, mover, move);
      default:
        return false;
    }
  }

  /** Persist a successful step: the next state, failures cleared. False if the move changed meanwhile. */
  private async advance(move: MoveRecord, patch: MovePatch, message: string): Promise<boolean> {
    const moved = await this.options.db.stores.moves.transition(move.id, [move.state], { error: null, failures: 0, ...patch }, message);
    if (!moved)
      this.options.log.info({ moveId: move.id, state: move.state }, 'move changed under its step (an operator decision); stopping here');
    return moved;
  }

  private async copy(worker: Worker, mover: TenantMover, move: MoveRecord): Promise<void> {
    const { stores } = this.options.db;
    const tables = new Map((await mover.tables()).map((t) => [t.name, t]));
    for (const recorded of await stores.moves.tables(move.id)) {
      if (recorded.copiedAt !== null) continue;
      const table = tables.get(recorded.table);
      if (!table) throw new Error(`table ${recorded.table} is no longer a tenant table on the source`);
      await this.throttle(worker, mover, move);
      await this.copyTable(worker, mover, move, table);
    }
  }

  private async copyTable(worker: Worker, mover: TenantMover, move: MoveRecord, table: TenantTable): Promise<void> {
    const { stores } = this.options.db;
    const metrics = this.options.metrics;
    let rows = 0;
    let bytes = 0;
    let flushedAt = Date.now();
    let flushing: Promise<void> | null = null;
    const flush = async () => {
      await stores.moves.tableProgress(move.id, table.name, rows, bytes);
      // An operator's abort (or anything else) changed the move: stop copying.
      const now = await stores.moves.get(move.id);
      if (now?.state !== 'copying') this.cancel(worker);
    };
    const result = await mover.copyTable(table, (p) => {
      metrics?.rowsCopied(Math.max(0, p.rows - rows));
      metrics?.bytesCopied(Math.max(0, p.bytes - bytes));
      rows = p.rows;
      bytes = p.bytes;
      if (flushing === null && Date.now() - flushedAt >= PROGRESS_FLUSH_MS) {
        flushedAt = Date.now();
        flushing = flush()
          .catch((err: unknown) => this.options.log.warn({ err, moveId: move.id }, 'could not record copy progress'))
          .finally(() => {
            flushing = null;
          });
      }
    });
    await flushing;
    if (worker.cancelled) throw new Cancelled();
    metrics?.rowsCopied(Math.max(0, result.rows - rows));
    metrics?.bytesCopied(Math.max(0, result.bytes - bytes));
    await stores.moves.markCopied(move.id, table.name, result.rows, result.bytes, result.copiedAt);
    const readFrom = result.readFrom === 'replica' ? ' (read from a replica)' : '';
    await stores.moves.event(move.id, 'copying', `copied ${table.name}: ${result.rows} rows, ${result.bytes} bytes${readFrom}`);
  }

  /** Replay logged changes until few are left (then the cutover drains the rest under the fence). */
  private async catchUp(worker: Worker, mover: TenantMover, move: MoveRecord): Promise<void> {
    const { stores } = this.options.db;
    const batch = this.options.catchUpBatch ?? 10_000;
    const target = this.options.cutoverPendingChanges ?? 200;
    for (;;) {
      await this.throttle(worker, mover, move);
      const { applied, pending } = await mover.catchUp(batch);
      if (worker.cancelled) throw new Cancelled();
      await stores.moves.setPending(move.id, pending);
      if (pending <= target && applied < batch) return;
      const now = await stores.moves.get(move.id);
      if (now?.state !== move.state) throw new Cancelled();
    }
  }

  /** Wait while the source's replicas lag more than the threshold. */
  private async throttle(worker: Worker, mover: TenantMover, move: MoveRecord): Promise<void> {
    let paused = false;
    for (;;) {
      if (worker.cancelled) throw new Cancelled();
      const lag = await mover.replicaLagBytes();
      if (lag <= this.options.lagThresholdBytes) break;
      if (!paused) {
        paused = true;
        await this.options.db.stores.moves.event(
          move.id,
          move.state,
          `paused: the source's replicas are ${lag} bytes behind (threshold ${this.options.lagThresholdBytes})`,
        );
      }
      await sleep(this.options.pollMs);
    }
    if (paused) await this.options.db.stores.moves.event(move.id, move.state, "resumed: the source's replicas caught up");
  }

  private async cutover(worker: Worker, mover: TenantMover, move: MoveRecord): Promise<boolean> {
    const { stores } = this.options.db;
    worker.inCutover = true;
    let result: CutoverResult;
    try {
      result = await mover.cutover(this.hooks(move, 'forward'));
    } catch (err) {
      // The tenant side gives its fence up when it fails; give the map's up too, now.
      await this.releaseFence(move, move.from, 'a failed cutover').catch(() => {});
      throw err;
    } finally {
      worker.inCutover = false;
    }
    this.options.metrics?.fenceWindow(result.fenceMs / 1000, result.outcome);
    const fenceMs = Math.round(result.fenceMs * 10) / 10;
    if (result.outcome === 'flipped') {
      await stores.moves.setPending(move.id, 0);
      await stores.moves.event(move.id, 'flipped', `flipped after a ${fenceMs} ms fence (${result.finalChanges} changes drained under it)`);
      await stores.moves.setLastFence(move.id, result.fenceMs);
      return move.graceSeconds === 0;
    }
    await this.releaseFence(move, move.from, 'a cutover that did not flip');
    if (result.outcome === 'deadline') {
      const attempts = move.attempt;
      const limit = this.options.maxCutoverAttempts ?? 20;
      const message = `the fence deadline (${move.fenceDeadlineMs} ms) passed during ${result.step} after ${fenceMs} ms; fence released`;
      if (attempts >= limit) {
        await stores.moves.transition(
          move.id,
          ['cutting_over'],
          {
            state: 'failed',
            resumeState: 'catching_up',
            error: `${message}; ${attempts} cutovers missed their deadline`,
            lastFenceMs: result.fenceMs,
          },
          `failed: ${attempts} cutovers missed their deadline`,
        );
        return false;
      }
      const retryAt = new Date(Date.now() + this.retryDelayMs(attempts));
      await stores.moves.transition(
        move.id,
        ['cutting_over'],
        { state: 'waiting', nextAttemptAt: retryAt, error: message, lastFenceMs: result.fenceMs },
        `${message}; retrying at ${retryAt.toISOString()}`,
      );
      return false;
    }
    await stores.moves.setVerification(move.id, result.tables);
    const bad = result.tables.filter((t) => t.sourceRows !== t.targetRows || t.sourceChecksum !== t.targetChecksum);
    const summary = bad.map((t) => `${t.table} (rows ${t.sourceRows} vs ${t.targetRows})`).join(', ');
    await stores.moves.transition(
      move.id,
      ['cutting_over'],
      {
        state: 'failed',
        resumeState: 'catching_up',
        error: `verification failed under the fence: ${summary}`,
        lastFenceMs: result.fenceMs,
      },
      `failed: source and target differ in ${summary}; fence released, the source serves the org`,
    );
    return false;
  }

  private async rollback(worker: Worker, mover: TenantMover, move: MoveRecord): Promise<boolean> {
    const { stores } = this.options.db;
    // A rollback interrupted under its fence left the target's pin fenced: give it back.
    await this.releaseFence(move, move.to, 'an interrupted rollback');
    worker.inCutover = true;
    let result: CutoverResult;
    try {
      result = await mover.rollback(this.hooks(move, 'back'));
    } catch (err) {
      await this.releaseFence(move, move.to, 'a failed rollback').catch(() => {});
      throw err;
    } finally {
      worker.inCutover = false;
    }
    this.options.metrics?.fenceWindow(result.fenceMs / 1000, result.outcome);
    if (result.outcome === 'flipped') {
      await stores.moves.event(move.id, 'rolled_back', `rolled back after a ${Math.round(result.fenceMs)} ms fence`);
      return false;
    }
    await this.releaseFence(move, move.to, 'a rollback that did not flip');
    if (result.outcome === 'deadline') {
      const failures = move.failures + 1;
      const retryAt = new Date(Date.now() + this.retryDelayMs(failures));
      await stores.moves.transition(
        move.id,
        ['rolling_back'],
        { state: 'rolling_back', failures, nextAttemptAt: retryAt, error: `the rollback's fence deadline passed during ${result.step}` },
        `rollback missed its fence deadline; retrying at ${retryAt.toISOString()}`,
      );
      return false;
    }
    await stores.moves.setVerification(move.id, result.tables);
    await stores.moves.transition(
      move.id,
      ['rolling_back'],
      { state: 'failed', resumeState: 'rolling_back', error: 'rollback verification failed: source and target differ' },
      'failed: rollback verification found differences; the target still serves the org',
    );
    return false;
  }

  /**
   * The control-DB side of a cutover. Forward: fence the pin on the source, flip it to
   * the target (and the move to `flipped`, in the same transaction). Back: fence it on
   * the target, then restore the org's pin from before the move.
   */
  private hooks(move: MoveRecord, direction: 'forward' | 'back'): CutoverHooks {
    const fencedOn = direction === 'forward' ? move.from : move.to;
    const reason = `move ${move.id}`;
    const flip = async (verified?: TableVerification[]) => {
      const action: AuditAction = direction === 'forward' ? 'move.flip' : 'move.rollback';
      const flippedState: MoveState = direction === 'forward' ? 'flipped' : 'rolled_back';
      try {
        await this.commitFlip(move, direction, action, reason, verified);
      } catch (err) {
        // The commit may have gone through with its answer lost: the tenant side must
        // not give the org back to the fenced side if the map already routes it away.
        if (await this.flipCommittedAnyway(move.id, flippedState)) {
          this.options.log.warn({ err, moveId: move.id }, 'the flip committed although its commit reported an error');
          return;
        }
        throw err;
      }
    };
    // A range is fenced on the clusters only (runtimes wait on the database's fence and
    // retry on OPF01/OPF02): the map changes once, at the flip.
    if (move.kind === 'range') return { fenced: async () => {}, flip, released: async () => {} };
    const orgId = move.orgId!;
    return {
      fenced: async () => {
        await commitConfigChange(this.options.db, { actor: EXECUTOR_ACTOR, action: 'move.fence', reason }, async (stores) => {
          const { before, after, delta } = await upsertPin(stores, orgId, { clusterId: fencedOn, state: 'fenced' });
          return { result: null, before, after, delta };
        });
      },
      flip,
      released: async (why: string) => {
        await this.releaseFence(move, fencedOn, why);
      },
    };
  }

  private async commitFlip(
    move: MoveRecord,
    direction: 'forward' | 'back',
    action: AuditAction,
    reason: string,
    verified: TableVerification[] | undefined,
  ): Promise<void> {
    await commitConfigChange(this.options.db, { actor: EXECUTOR_ACTOR, action, reason }, async (stores) => {
      const change =
        move.kind === 'range'
          ? await assignSpanTo(stores, move.range!, direction === 'forward' ? move.to : move.from)
          : direction === 'forward'
            ? await upsertPin(stores, move.orgId!, { clusterId: move.to, state: 'active' })
            : await restorePin(stores, move.orgId!, move.priorPlacement);
      const patch: MovePatch =
        direction === 'forward'
          ? {
              state: 'flipped',
              flipped: true,
              error: null,
              failures: 0,
              nextAttemptAt: null,
              // Unknown until the tenant side lets go of the fence (setLastFence, right
              // after): a flipped move shows no window rather than a provisional one or
              // the window of an earlier attempt that missed its deadline.
              lastFenceMs: null,
            }
          : { state: 'rolled_back', completed: true, error: null, failures: 0, nextAttemptAt: null };
      const from: MoveState = direction === 'forward' ? 'cutting_over' : 'rolling_back';
      const message =
        direction === 'forward'
          ? `flipped: ${moveLabel(move)} is served by ${move.to}`
          : `rolled back: ${moveLabel(move)} is served by ${move.from}`;
      if (!(await stores.moves.transition(move.id, [from], patch, message))) {
        throw new Error(`move ${move.id} left ${from} during its cutover; not flipping`);
      }
      // The evidence the flip rests on commits with it.
      if (verified) await stores.moves.setVerification(move.id, verified);
      return { result: null, before: change.before, after: change.after, delta: change.delta };
    });
  }

  /**
   * After a flip's commit failed: did it commit anyway? Asks the control DB until it
   * answers (it may be restarting): rejecting the flip while its outcome is unknown
   * would let the tenant side give the org back to the fenced cluster although the map
   * may route it away already. Until then the fence holds (writers get OPF01: refused,
   * not lost). False when the move is still where the flip found it.
   */
  private async flipCommittedAnyway(moveId: string, flippedState: MoveState): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.options.db.stores.moves.get(moveId))?.state === flippedState;
      } catch (err) {
        this.options.log.warn({ err, moveId, attempt }, 'could not read the move after a failed flip; the fence holds; asking again');
        await sleep(backoffMs(attempt, { baseMs: 100, capMs: 2000, jitter: 'equal' }), { unref: true });
      }
    }
  }

  /**
   * Undo a fence on `fencedOn` if the map still shows one: forward, restore the pin from
   * before the move (or none); back, the target keeps serving. A no-op otherwise.
   */
  private async releaseFence(move: MoveRecord, fencedOn: string, why: string): Promise<void> {
    // A range move fences nothing in the map (see hooks).
    if (move.kind === 'range') return;
    const orgId = move.orgId!;
    const current = await this.options.db.stores.placements.get(orgId);
    if (current?.state !== 'fenced' || current.clusterId !== fencedOn) return;
    await commitConfigChange(
      this.options.db,
      { actor: EXECUTOR_ACTOR, action: 'move.release', reason: `move ${move.id}: ${why}` },
      async (stores) => {
        const before = await stores.placements.get(orgId);
        if (before?.state !== 'fenced' || before.clusterId !== fencedOn) {
          return { result: null, before, after: before, delta: {} };
        }
        const change =
          fencedOn === move.from
            ? await restorePin(stores, orgId, move.priorPlacement)
            : await upsertPin(stores, orgId, { clusterId: move.to, state: 'active' });
        await stores.moves.event(move.id, move.state, `fence released (${why})`);
        return { result: null, before, after: change.after, delta: change.delta };
      },
    );
  }

  /** A step threw: retry it later with backoff, or after too many failures leave the move failed. */
  private async failStep(move: MoveRecord, err: unknown): Promise<void> {
    const failures = move.failures + 1;
    const message = describeError(err);
    if (failures >= this.options.maxFailures) {
      await this.fail(move, err, failures);
      return;
    }
    const retryAt = new Date(Date.now() + this.retryDelayMs(failures));
    await this.options.db.stores.moves.transition(
      move.id,
      [move.state],
      { state: move.state, failures, error: message, nextAttemptAt: retryAt },
      `${move.state} failed (${failures}/${this.options.maxFailures}): ${message}; retrying at ${retryAt.toISOString()}`,
    );
  }

  /** The wait before retry number `attempt` (1 for the first): full jitter below retryBaseMs * 2^(attempt-1). */
  private retryDelayMs(attempt: number): number {
    return backoffMs(attempt - 1, { baseMs: this.options.retryBaseMs, capMs: RETRY_MAX_MS, jitter: 'equal' });
  }

  private async fail(move: MoveRecord, err: unknown, failures = move.failures + 1): Promise<void> {
    const message = describeError(err);
    const served = move.flippedAt === undefined ? move.from : move.to;
    await this.options.db.stores.moves.transition(
      move.id,
      [move.state],
      { state: 'failed', resumeState: move.state, failures, error: message, nextAttemptAt: null },
      `failed in ${move.state}: ${message}; ${served} serves the ${move.kind}; resume to continue`,
    );
  }
}

/** Whether the executor should work on a move now. */
function isDue(move: MoveRecord): boolean {
  if (move.state === 'failed' || move.state === 'completed' || move.state === 'aborted' || move.state === 'rolled_back') return false;
  const now = Date.now();
  if (move.nextAttemptAt !== undefined && Date.parse(move.nextAttemptAt) > now) return false;
  if (move.state === 'flipped') return Date.parse(move.flippedAt!) + move.graceSeconds * 1000 <= now;
  return true;
}

function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return scrubUrlPasswords(text).slice(0, 1000);
}

/** "org 7" or "range [0, 99]", for events. */
function moveLabel(move: MoveRecord): string {
  return move.kind === 'org' ? `org ${move.orgId}` : `range [${move.range!.lo}, ${move.range!.hi}]`;
}

interface MapChange {
  before: unknown;
  after: unknown;
  delta: Omit<ConfigDelta, 'version' | 'action'>;
}

/** A range move's flip (or rollback): the ranges of its span go to `clusterId`; no pins. */
async function assignSpanTo(stores: Stores, span: { lo: number; hi: number }, clusterId: string): Promise<MapChange> {
  const before = await stores.ranges.list();
  const ranges = assignSpan(before, span.lo, span.hi, clusterId);
  await stores.ranges.replaceAll(ranges);
  const within = (rs: WireRange[]) => rs.filter((r) => r.hi >= span.lo && r.lo <= span.hi);
  return { before: { ranges: within(before) }, after: { ranges: within(ranges) }, delta: { ranges } };
}

async function upsertPin(stores: Stores, orgId: number, pin: { clusterId: string; state: WirePlacement['state'] }): Promise<MapChange> {
  const before = await stores.placements.get(orgId);
  const placement = await stores.placements.upsert({ orgId, ...pin });
  return { before, after: placement, delta: { placements: { upsert: [placement], remove: [] } } };
}

/** The org's pin as it was before the move: none (its range routes it) or the old one. */
async function restorePin(stores: Stores, orgId: number, prior: WirePlacement | null): Promise<MapChange> {
  if (prior === null) {
    const before = await stores.placements.delete(orgId);
    return { before, after: null, delta: { placements: { upsert: [], remove: [orgId] } } };
  }
  return upsertPin(stores, orgId, { clusterId: prior.clusterId, state: prior.state === 'fenced' ? 'active' : prior.state });
}
