// Owns moves, move_tables and move_events (one aggregate: a move and its record).
// Every state change is a compare-and-set on the current state that writes its event
// in the same statement, so a step that lost a race (an abort came in) changes nothing.
import type { WirePlacement } from '@orgplane/runtime/wire';
import { type Queryable, sqlState } from '../../db/Database.js';
import { OrgAlreadyMovingError, RangeAlreadyMovingError } from '../../errors.js';
import type { MoveEvent, MoveRecord, MoveState, MoveTable, ReadFrom } from './Move.js';
import { FINISHED_STATES } from './Move.js';
import type { TableVerification } from './tenant/TenantMover.js';

interface Row {
  id: string;
  seq: string;
  batch_id: string;
  org_id: string | null;
  range_lo: string | null;
  range_hi: string | null;
  pinned_org_ids: string[];
  copy_streams: number;
  read_from: ReadFrom;
  from_cluster: string;
  to_cluster: string;
  state: MoveState;
  resume_state: MoveState | null;
  attempt: number;
  failures: number;
  error: string | null;
  fence_deadline_ms: number;
  grace_seconds: number;
  prior_placement: WirePlacement | null;
  changes_pending: string;
  last_fence_ms: number | null;
  created_at: Date;
  updated_at: Date;
  flipped_at: Date | null;
  completed_at: Date | null;
  next_attempt_at: Date | null;
  rows_copied: string;
  bytes_copied: string;
}

const SELECT_MOVES = `
  SELECT m.*, COALESCE(t.rows_copied, 0) AS rows_copied, COALESCE(t.bytes_copied, 0) AS bytes_copied
  FROM moves m
  LEFT JOIN LATERAL (
    SELECT sum(rows_copied)::bigint AS rows_copied, sum(bytes_copied)::bigint AS bytes_copied
    FROM move_tables WHERE move_id = m.id
  ) t ON true`;

function toRecord(row: Row): MoveRecord {
  return {
    id: row.id,
    seq: Number(row.seq),
    batchId: row.batch_id,
    kind: row.org_id === null ? 'range' : 'org',
    orgId: row.org_id === null ? null : Number(row.org_id),
    range: row.range_lo === null ? null : { lo: Number(row.range_lo), hi: Number(row.range_hi) },
    pinnedOrgs: row.pinned_org_ids.length,
    copyStreams: row.copy_streams,
    readFrom: row.read_from,
    from: row.from_cluster,
    to: row.to_cluster,
    state: row.state,
    attempt: row.attempt,
    ...(row.error === null ? {} : { error: row.error }),
    fenceDeadlineMs: row.fence_deadline_ms,
    graceSeconds: row.grace_seconds,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    ...(row.flipped_at ? { flippedAt: row.flipped_at.toISOString() } : {}),
    ...(row.completed_at ? { completedAt: row.completed_at.toISOString() } : {}),
    ...(row.next_attempt_at ? { nextAttemptAt: row.next_attempt_at.toISOString() } : {}),
    progress: {
      rowsCopied: Number(row.rows_copied),
      bytesCopied: Number(row.bytes_copied),
      changesPending: Number(row.changes_pending),
      ...(row.last_fence_ms === null ? {} : { lastFenceMs: row.last_fence_ms }),
    },
    resumeState: row.resume_state,
    failures: row.failures,
    priorPlacement: row.prior_placement,
    pinnedOrgIds: row.pinned_org_ids.map(Number),
  };
}

export interface NewMove {
  id: string;
  batchId: string;
  orgId: number;
  from: string;
  to: string;
  fenceDeadlineMs: number;
  graceSeconds: number;
  priorPlacement: WirePlacement | null;
}

export interface NewRangeMove {
  id: string;
  batchId: string;
  range: { lo: number; hi: number };
  pinnedOrgIds: readonly number[];
  from: string;
  to: string;
  fenceDeadlineMs: number;
  graceSeconds: number;
  copyStreams: number;
  readFrom: ReadFrom;
}

/** An unfinished range move and its span. */
export interface MovingRange {
  moveId: string;
  lo: number;
  hi: number;
}

/** A state change: `state` plus the columns that change with it (others are kept). */
export interface MovePatch {
  state: MoveState;
  /** null clears it. */
  error?: string | null;
  nextAttemptAt?: Date | null;
  resumeState?: MoveState | null;
  failures?: number;
  incrementAttempt?: boolean;
  flipped?: boolean;
  completed?: boolean;
  /** null: not known yet (a flip, before the tenant side measured its fence). */
  lastFenceMs?: number | null;
}

export interface MoveQuery {
  state?: MoveState;
  batchId?: string;
  orgId?: number;
  /** Moves created before this one (keyset pagination, newest first). */
  before?: string;
  limit: number;
}

/** A move the executor may run now, with its batch's concurrency. */
export interface RunnableMove {
  id: string;
  batchId: string;
  concurrency: number;
  state: MoveState;
}

/** The executor LISTENs here: a new or resumed move runs without waiting for a poll. */
export const MOVES_CHANNEL = 'orgplane_moves';

export class MoveStore {
  constructor(private readonly db: Queryable) {}

  /** Wake the executor (delivered at commit). */
  async notifyExecutor(): Promise<void> {
    await this.db.query('SELECT pg_notify($1, $2)', [MOVES_CHANNEL, '']);
  }

  async insert(move: NewMove): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO moves (id, batch_id, org_id, from_cluster, to_cluster, fence_deadline_ms, grace_seconds, prior_placement)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
        [
          move.id,
          move.batchId,
          move.orgId,
          move.from,
          move.to,
          move.fenceDeadlineMs,
          move.graceSeconds,
          JSON.stringify(move.priorPlacement),
        ],
      );
    } catch (err) {
      if (sqlState(err) === '23505') throw new OrgAlreadyMovingError(move.orgId);
      throw err;
    }
    await this.event(move.id, 'pending', `move of org ${move.orgId} from ${move.from} to ${move.to} created`);
  }

  async insertRange(move: NewRangeMove): Promise<void> {
    const { lo, hi } = move.range;
    try {
      await this.db.query(
        `INSERT INTO moves (id, batch_id, range_lo, range_hi, pinned_org_ids, from_cluster, to_cluster, fence_deadline_ms,
                            grace_seconds, copy_streams, read_from)
         VALUES ($1, $2, $3, $4, $5::bigint[], $6, $7, $8, $9, $10, $11)`,
        [
          move.id,
          move.batchId,
          lo,
          hi,
          move.pinnedOrgIds,
          move.from,
          move.to,
          move.fenceDeadlineMs,
          move.graceSeconds,
          move.copyStreams,
          move.readFrom,
        ],
      );
    } catch (err) {
      // The exclusion constraint: another range move over the span was created meanwhile.
      // Its id cannot be read here: the failed insert aborted the transaction.
      if (sqlState(err) === '23P01') throw new RangeAlreadyMovingError(move.range, null);
      throw err;
    }
    const pinned = move.pinnedOrgIds.length > 0 ? ` (${move.pinnedOrgIds.length} pinned orgs left alone)` : '';
    await this.event(move.id, 'pending', `move of range [${lo}, ${hi}] from ${move.from} to ${move.to} created${pinned}`);
  }

  /** Unfinished range moves whose span overlaps [lo, hi], oldest first. */
  async unfinishedRanges(lo: number, hi: number): Promise<MovingRange[]> {
    const { rows } = await this.db.query<{ id: string; range_lo: string; range_hi: string }>(
      `SELECT id, range_lo, range_hi FROM moves
        WHERE range_lo IS NOT NULL AND range_lo <= $2 AND range_hi >= $1 AND NOT (state = ANY($3::text[]))
        ORDER BY seq`,
      [lo, hi, FINISHED_STATES],
    );
    return rows.map((row) => ({ moveId: row.id, lo: Number(row.range_lo), hi: Number(row.range_hi) }));
  }

  /** Unfinished org moves of orgs in [lo, hi]: org id -> move id. */
  async unfinishedOrgsIn(lo: number, hi: number): Promise<Map<number, string>> {
    const { rows } = await this.db.query<{ org_id: string; id: string }>(
      'SELECT org_id, id FROM moves WHERE org_id BETWEEN $1 AND $2 AND NOT (state = ANY($3::text[])) ORDER BY org_id',
      [lo, hi, FINISHED_STATES],
    );
    return new Map(rows.map((row) => [Number(row.org_id), row.id]));
  }

  async get(id: string, options: { forUpdate?: boolean } = {}): Promise<MoveRecord | null> {
    const { rows } = await this.db.query<Row>(`${SELECT_MOVES} WHERE m.id = $1${options.forUpdate ? ' FOR UPDATE OF m' : ''}`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Newest first. */
  async list(query: MoveQuery): Promise<MoveRecord[]> {
    const { rows } = await this.db.query<Row>(
      `${SELECT_MOVES}
       WHERE ($1::text IS NULL OR m.state = $1) AND ($2::text IS NULL OR m.batch_id = $2)
         AND ($3::bigint IS NULL OR m.org_id = $3)
         AND ($4::text IS NULL OR m.seq < (SELECT seq FROM moves WHERE id = $4))
       ORDER BY m.seq DESC LIMIT $5`,
      [query.state ?? null, query.batchId ?? null, query.orgId ?? null, query.before ?? null, query.limit],
    );
    return rows.map(toRecord);
  }

  /** The unfinished move of each org that has one. */
  async unfinishedByOrg(orgIds: readonly number[]): Promise<Map<number, string>> {
    const { rows } = await this.db.query<{ org_id: string; id: string }>(
      'SELECT org_id, id FROM moves WHERE org_id = ANY($1::bigint[]) AND NOT (state = ANY($2::text[]))',
      [orgIds, FINISHED_STATES],
    );
    return new Map(rows.map((row) => [Number(row.org_id), row.id]));
  }

  /**
   * Moves with work to do now, oldest first, moves already under way before new ones:
   * not failed or finished, not backing off, and for `waiting` / `flipped` once their
   * retry time or grace period has come.
   */
  async runnable(): Promise<RunnableMove[]> {
    const { rows } = await this.db.query<{ id: string; batch_id: string; concurrency: number; state: MoveState }>(
      `SELECT m.id, m.batch_id, b.concurrency, m.state
       FROM moves m JOIN move_batches b ON b.id = m.batch_id
       WHERE NOT (m.state = ANY($1::text[])) AND m.state <> 'failed'
         AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= now())
         AND (m.state <> 'waiting' OR m.next_attempt_at IS NOT NULL)
         AND (m.state <> 'flipped' OR m.flipped_at + m.grace_seconds * interval '1 second' <= now())
       ORDER BY (m.state = 'pending'), m.seq`,
      [FINISHED_STATES],
    );
    return rows.map((row) => ({ id: row.id, batchId: row.batch_id, concurrency: row.concurrency, state: row.state }));
  }

  /**
   * Compare-and-set: move `id` from one of `from` to `patch.state`, and log `message`.
   * False (and nothing written) when the move is no longer in one of `from`.
   */
  async transition(id: string, from: readonly MoveState[], patch: MovePatch, message: string): Promise<boolean> {
    const sets = ['state = $3', 'updated_at = now()'];
    const values: unknown[] = [id, from, patch.state];
    const set = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (patch.error !== undefined) set('error', patch.error);
    if (patch.nextAttemptAt !== undefined) set('next_attempt_at', patch.nextAttemptAt);
    if (patch.resumeState !== undefined) set('resume_state', patch.resumeState);
    if (patch.failures !== undefined) set('failures', patch.failures);
    if (patch.lastFenceMs !== undefined) set('last_fence_ms', patch.lastFenceMs);
    if (patch.incrementAttempt) sets.push('attempt = attempt + 1');
    if (patch.flipped) sets.push('flipped_at = now()');
    if (patch.completed) sets.push('completed_at = now()');
    values.push(message);
    const { rows } = await this.db.query(
      `WITH m AS (UPDATE moves SET ${sets.join(', ')} WHERE id = $1 AND state = ANY($2::text[]) RETURNING id, state)
       INSERT INTO move_events (move_id, state, message) SELECT id, state, $${values.length} FROM m RETURNING move_id`,
      values,
    );
    return rows.length > 0;
  }

  async event(id: string, state: MoveState, message: string): Promise<void> {
    await this.db.query('INSERT INTO move_events (move_id, state, message) VALUES ($1, $2, $3)', [id, state, message]);
  }

  async events(id: string): Promise<MoveEvent[]> {
    const { rows } = await this.db.query<{ at: Date; state: MoveState; message: string }>(
      'SELECT at, state, message FROM move_events WHERE move_id = $1 ORDER BY id',
      [id],
    );
    return rows.map((row) => ({ at: row.at.toISOString(), state: row.state, message: row.message }));
  }

  /** Record the tables to copy, in order; tables already recorded keep their progress. */
  async setTables(id: string, tables: readonly string[]): Promise<void> {
    await this.db.query(
      `INSERT INTO move_tables (move_id, table_name, position)
       SELECT $1, name, ord FROM unnest($2::text[]) WITH ORDINALITY AS t(name, ord)
       ON CONFLICT (move_id, table_name) DO NOTHING`,
      [id, tables],
    );
  }

  /** Rows of each table in a range move's span, counted on the source. */
  async setEstimatedRows(id: string, estimates: ReadonlyMap<string, number>): Promise<void> {
    await this.db.query(
      `UPDATE move_tables t SET estimated_rows = e.n
         FROM unnest($2::text[], $3::bigint[]) AS e(name, n)
        WHERE t.move_id = $1 AND t.table_name = e.name`,
      [id, [...estimates.keys()], [...estimates.values()]],
    );
  }

  async tables(id: string): Promise<MoveTable[]> {
    const { rows } = await this.db.query<{
      table_name: string;
      estimated_rows: string | null;
      rows_copied: string;
      bytes_copied: string;
      source_rows: string | null;
      target_rows: string | null;
      source_checksum: string | null;
      target_checksum: string | null;
      copied_at: Date | null;
    }>('SELECT * FROM move_tables WHERE move_id = $1 ORDER BY position', [id]);
    const count = (value: string | null) => (value === null ? null : Number(value));
    return rows.map((row) => ({
      table: row.table_name,
      estimatedRows: count(row.estimated_rows),
      rowsCopied: Number(row.rows_copied),
      bytesCopied: Number(row.bytes_copied),
      sourceRows: count(row.source_rows),
      targetRows: count(row.target_rows),
      sourceChecksum: row.source_checksum,
      targetChecksum: row.target_checksum,
      copiedAt: row.copied_at?.toISOString() ?? null,
    }));
  }

  /** Progress of a table being copied; a rerun of the table starts it again from 0. */
  async tableProgress(id: string, table: string, rows: number, bytes: number): Promise<void> {
    await this.db.query('UPDATE move_tables SET rows_copied = $3, bytes_copied = $4 WHERE move_id = $1 AND table_name = $2', [
      id,
      table,
      rows,
      bytes,
    ]);
  }

  async markCopied(id: string, table: string, rows: number, bytes: number, copiedAt: Date): Promise<void> {
    await this.db.query(
      'UPDATE move_tables SET rows_copied = $3, bytes_copied = $4, copied_at = $5 WHERE move_id = $1 AND table_name = $2',
      [id, table, rows, bytes, copiedAt],
    );
  }

  async setVerification(id: string, tables: readonly TableVerification[]): Promise<void> {
    for (const t of tables) {
      await this.db.query(
        `UPDATE move_tables SET source_rows = $3, target_rows = $4, source_checksum = $5, target_checksum = $6
         WHERE move_id = $1 AND table_name = $2`,
        [id, t.table, t.sourceRows, t.targetRows, t.sourceChecksum, t.targetChecksum],
      );
    }
  }

  async setPending(id: string, changesPending: number): Promise<void> {
    await this.db.query('UPDATE moves SET changes_pending = $2, updated_at = now() WHERE id = $1', [id, changesPending]);
  }

  async setLastFence(id: string, fenceMs: number): Promise<void> {
    await this.db.query('UPDATE moves SET last_fence_ms = $2 WHERE id = $1', [id, fenceMs]);
  }

  /**
   * The copy of the newest range move that got through its flip: rows copied, and the
   * time from entering `copying` to its last table's copy. Null when none has copied.
   */
  async newestRangeCopy(): Promise<{ moveId: string; rows: number; seconds: number } | null> {
    const { rows } = await this.db.query<{ id: string; rows: string; seconds: number | null }>(
      `SELECT m.id, t.rows,
              extract(epoch FROM t.done - (SELECT min(e.at) FROM move_events e WHERE e.move_id = m.id AND e.state = 'copying'))::float8 AS seconds
         FROM moves m
         JOIN LATERAL (SELECT sum(rows_copied)::bigint AS rows, max(copied_at) AS done FROM move_tables WHERE move_id = m.id) t ON true
        WHERE m.range_lo IS NOT NULL AND m.flipped_at IS NOT NULL AND m.state IN ('flipped', 'completing', 'completed')
        ORDER BY m.flipped_at DESC, m.seq DESC LIMIT 1`,
    );
    const row = rows[0];
    if (!row || row.seconds === null || row.seconds <= 0 || Number(row.rows) <= 0) return null;
    return { moveId: row.id, rows: Number(row.rows), seconds: row.seconds };
  }

  /** Moves per state, for the orgplane_moves gauge. */
  async countByState(): Promise<Map<MoveState, number>> {
    const { rows } = await this.db.query<{ state: MoveState; n: number }>('SELECT state, count(*)::int AS n FROM moves GROUP BY state');
    return new Map(rows.map((row) => [row.state, row.n]));
  }

  /** Logged changes not yet replayed, summed over moves that are catching up or cutting over. */
  async pendingChanges(): Promise<number> {
    const { rows } = await this.db.query<{ n: string | null }>(
      "SELECT sum(changes_pending)::bigint AS n FROM moves WHERE state IN ('catching_up', 'cutting_over', 'waiting')",
    );
    return Number(rows[0]?.n ?? 0);
  }
}
