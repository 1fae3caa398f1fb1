// The tenant side of one org's move: everything that touches the source and target
// clusters. The move executor (control DB side) drives these steps in order and
// persists what each returned, so any step can be rerun after a crash.
//
// Contract (see migrations/tenant/1764000000000_move-capture.sql):
// - startCapture() before the first copy; every write to the org after it is logged.
// - copyTable() per table, in the order of tables(); rerunning one first removes what
//   an earlier, interrupted attempt left of that table on the target.
// - catchUp() only after every table is copied; it consumes logged changes.
// - verify() while writes continue; cutover() under the fence.
// - After the flip the target captures the org's writes, so rollback() can carry them
//   back; complete() deletes the source rows and keeps the source's 'moved' marker.
// - cutover() catches up and runs a full verify itself before it fences (a mismatch
//   there returns {outcome: 'mismatch', fenceMs: 0} and calls no hook); the executor's
//   own verify() is for the record. Every replay batch checks the keys it carried.
// - Named errors (control-plane/src/errors.ts): TENANT_MOVE_STATE (the markers do not
//   allow the step: copy before capture, abort after the flip, rollback/complete
//   before it), CAPTURE_WAIT_TIMEOUT, TENANT_SCHEMA, MOVE_REPLAY_MISMATCH.
// Implementation: createTenantMover in PgTenantMover.ts.
import type { Logger } from '../../../logger.js';
import type { MoveScope } from './MoveScope.js';

export interface TenantTable {
  /** Unqualified name; for a partitioned table, the parent. */
  name: string;
  primaryKey: string[];
  /** The table holds rows that reference these tenant tables. */
  references: string[];
  partitioned: boolean;
}

export interface CopyProgress {
  table: string;
  rows: number;
  bytes: number;
}

export interface TableCopyResult extends CopyProgress {
  /** The copy's source snapshot, for the record (the oldest, with parallel streams). */
  copiedAt: Date;
  /** Where the copy read: a replica of the source, or its primary. */
  readFrom?: 'replica' | 'primary';
}

export interface CatchUpResult {
  /** Changes consumed and applied in this call. */
  applied: number;
  /** Changes still logged for the org after it. */
  pending: number;
}

export interface TableVerification {
  table: string;
  sourceRows: number;
  targetRows: number;
  sourceChecksum: string;
  targetChecksum: string;
}

export interface VerifyResult {
  ok: boolean;
  tables: TableVerification[];
}

/**
 * The executor's side of a fence. A cutover or rollback rerun after a crash between
 * marking the clusters and the flip calls fenced() and flip() again: both must be
 * idempotent.
 */
export interface CutoverHooks {
  /** Called once the fence is held (placement -> fenced, config version bump). */
  fenced(): Promise<void>;
  /**
   * Commit the flip in the control DB. When it resolves the flip is durable and the
   * source is marked 'moved' before the fence is released. Rejecting means the flip
   * did NOT commit: the mover puts both clusters back and calls released(). (If the
   * commit's outcome is unknown, resolve it before rejecting.) `verified`: the full
   * comparison made right before the fence, to be recorded with the flip (absent when a
   * cutover that had already marked both sides is finished after a crash).
   */
  flip(verified?: TableVerification[]): Promise<void>;
  /**
   * Called when the fence is given up before the flip (placement back to active).
   * Only after fenced(): a deadline while waiting for the lock calls no hook.
   */
  released(reason: string): Promise<void>;
}

export type CutoverResult =
  | { outcome: 'flipped'; fenceMs: number; finalChanges: number }
  | { outcome: 'deadline'; fenceMs: number; step: string }
  | { outcome: 'mismatch'; fenceMs: number; tables: TableVerification[] };

export interface TenantMoverOptions {
  moveId: string;
  /** One org, or a span of orgs (MoveScope.ts). */
  scope: MoveScope;
  /** Connection URLs with credentials: never log them. */
  sourceUrl: string;
  targetUrl: string;
  /**
   * Replicas of the source the bulk copy may read from instead of its primary (with
   * credentials). One is used only once it has replayed past the capture's start; none
   * (or none caught up, or one that fails mid-copy) means the primary.
   */
  sourceReadUrls?: readonly string[];
  /** Parallel COPY streams per table (slices of the span's org ids); 1 for an org. */
  copyStreams?: number;
  /** The write-block window's hard limit. */
  fenceDeadlineMs: number;
  /**
   * How long startCapture waits for the source's older transactions to end before it
   * fails with CAPTURE_WAIT_TIMEOUT (default 60 000).
   */
  captureWaitMs?: number;
  log: Logger;
}

export interface TenantMover {
  /** Tenant tables holding the org, parents before children. */
  tables(): Promise<TenantTable[]>;
  /** Rows of each table in the scope on the source (exact counts, for progress). */
  estimateRows(): Promise<Map<string, number>>;
  /** Mark the org 'capturing' on the source and wait for older transactions to end. */
  startCapture(): Promise<void>;
  copyTable(table: TenantTable, onProgress: (p: CopyProgress) => void): Promise<TableCopyResult>;
  catchUp(maxChanges?: number): Promise<CatchUpResult>;
  verify(): Promise<VerifyResult>;
  cutover(hooks: CutoverHooks): Promise<CutoverResult>;
  /** After the flip: fence the target, carry its writes back, unmark the source. */
  rollback(hooks: CutoverHooks): Promise<CutoverResult>;
  /** Before the flip: drop the capture and every row copied to the target. */
  abort(): Promise<void>;
  /** After the flip and grace: delete the source rows; stop capturing on the target. */
  complete(onProgress?: (deletedRows: number) => void): Promise<{ deletedRows: number }>;
  /** Bytes the source's replicas are behind (max over replicas), for throttling. */
  replicaLagBytes(): Promise<number>;
  close(): Promise<void>;
}
