// Owns move_batches: what one POST /v1/moves asked for.
import type { Queryable } from '../../db/Database.js';
import type { MoveBatch, MoveState } from './Move.js';

interface Row {
  id: string;
  from_cluster: string | null;
  to_cluster: string;
  percent: number | null;
  range_lo: string | null;
  range_hi: string | null;
  concurrency: number;
  fence_deadline_ms: number;
  grace_seconds: number;
  reason: string | null;
  actor: string;
  created_at: Date;
}

export type NewMoveBatch = Omit<MoveBatch, 'createdAt' | 'counts' | 'total'>;

export class MoveBatchStore {
  constructor(private readonly db: Queryable) {}

  async insert(batch: NewMoveBatch): Promise<MoveBatch> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO move_batches (id, from_cluster, to_cluster, percent, range_lo, range_hi, concurrency, fence_deadline_ms, grace_seconds, reason, actor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      [
        batch.id,
        batch.from,
        batch.to,
        batch.percent,
        batch.range?.lo ?? null,
        batch.range?.hi ?? null,
        batch.concurrency,
        batch.fenceDeadlineMs,
        batch.graceSeconds,
        batch.reason,
        batch.actor,
      ],
    );
    return toBatch(rows[0]!);
  }

  /** The batch with its moves counted by state. */
  async get(id: string): Promise<MoveBatch | null> {
    const { rows } = await this.db.query<Row>('SELECT * FROM move_batches WHERE id = $1', [id]);
    if (!rows[0]) return null;
    const counts = await this.db.query<{ state: MoveState; n: number }>(
      'SELECT state, count(*)::int AS n FROM moves WHERE batch_id = $1 GROUP BY state ORDER BY state',
      [id],
    );
    const byState: Partial<Record<MoveState, number>> = {};
    let total = 0;
    for (const row of counts.rows) {
      byState[row.state] = row.n;
      total += row.n;
    }
    return { ...toBatch(rows[0]), counts: byState, total };
  }
}

function toBatch(row: Row): MoveBatch {
  return {
    id: row.id,
    from: row.from_cluster,
    to: row.to_cluster,
    percent: row.percent,
    range: row.range_lo === null || row.range_hi === null ? null : { lo: Number(row.range_lo), hi: Number(row.range_hi) },
    concurrency: row.concurrency,
    fenceDeadlineMs: row.fence_deadline_ms,
    graceSeconds: row.grace_seconds,
    reason: row.reason,
    actor: row.actor,
    createdAt: row.created_at.toISOString(),
  };
}
