// Owns placements: per-org pins that override the range.
import type { PlacementState, WirePlacement } from '@orgplane/runtime/wire';
import { type Queryable, sqlState } from '../../db/Database.js';
import { ClusterNotFoundError } from '../../errors.js';

interface Row {
  org_id: string;
  cluster_id: string;
  state: PlacementState;
  epoch: string;
}

const COLUMNS = 'org_id, cluster_id, state, epoch';

const toPlacement = (row: Row): WirePlacement => ({
  orgId: Number(row.org_id),
  clusterId: row.cluster_id,
  state: row.state,
  epoch: Number(row.epoch),
});

export interface PlacementQuery {
  clusterId?: string;
  /** Only org ids greater than this (keyset pagination). */
  afterOrgId?: number;
  limit: number;
}

export class PlacementStore {
  constructor(private readonly db: Queryable) {}

  async get(orgId: number): Promise<WirePlacement | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM placements WHERE org_id = $1`, [orgId]);
    return rows[0] ? toPlacement(rows[0]) : null;
  }

  /** The pins of the given orgs that have one. */
  async getMany(orgIds: readonly number[]): Promise<Map<number, WirePlacement>> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM placements WHERE org_id = ANY($1::bigint[])`, [orgIds]);
    return new Map(rows.map((row) => [Number(row.org_id), toPlacement(row)]));
  }

  /** The pins of orgs within any of the inclusive spans, by org id. */
  async inSpans(spans: readonly { lo: number; hi: number }[]): Promise<WirePlacement[]> {
    if (spans.length === 0) return [];
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM placements p
       WHERE EXISTS (SELECT 1 FROM unnest($1::bigint[], $2::bigint[]) AS s(lo, hi) WHERE p.org_id BETWEEN s.lo AND s.hi)
       ORDER BY org_id`,
      [spans.map((s) => s.lo), spans.map((s) => s.hi)],
    );
    return rows.map(toPlacement);
  }

  /** Ordered by org id. */
  async list(query: PlacementQuery): Promise<WirePlacement[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM placements
       WHERE ($1::text IS NULL OR cluster_id = $1) AND ($2::bigint IS NULL OR org_id > $2)
       ORDER BY org_id LIMIT $3`,
      [query.clusterId ?? null, query.afterOrgId ?? null, query.limit],
    );
    return rows.map(toPlacement);
  }

  async listAll(): Promise<WirePlacement[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM placements ORDER BY org_id`);
    return rows.map(toPlacement);
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM placements');
    return rows[0]!.n;
  }

  async countByCluster(clusterId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM placements WHERE cluster_id = $1', [clusterId]);
    return rows[0]!.n;
  }

  /** Create (epoch 1) or replace (epoch + 1) an org's pin. */
  async upsert(placement: { orgId: number; clusterId: string; state: PlacementState }): Promise<WirePlacement> {
    try {
      const { rows } = await this.db.query<Row>(
        `INSERT INTO placements (org_id, cluster_id, state) VALUES ($1, $2, $3)
         ON CONFLICT (org_id) DO UPDATE
           SET cluster_id = EXCLUDED.cluster_id, state = EXCLUDED.state, epoch = placements.epoch + 1, updated_at = now()
         RETURNING ${COLUMNS}`,
        [placement.orgId, placement.clusterId, placement.state],
      );
      return toPlacement(rows[0]!);
    } catch (err) {
      if (sqlState(err) === '23503') throw new ClusterNotFoundError(placement.clusterId);
      throw err;
    }
  }

  /** The removed pin, or null when there was none. */
  async delete(orgId: number): Promise<WirePlacement | null> {
    const { rows } = await this.db.query<Row>(`DELETE FROM placements WHERE org_id = $1 RETURNING ${COLUMNS}`, [orgId]);
    return rows[0] ? toPlacement(rows[0]) : null;
  }
}
