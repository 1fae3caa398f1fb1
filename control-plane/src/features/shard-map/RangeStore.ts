// Owns shard_ranges. The table's exclusion constraint refuses overlap even if a bug
// slipped past the service; coverage (no gaps) is checked by rangeRules.
import type { WireRange } from '@orgplane/runtime/wire';
import { type Queryable, sqlState } from '../../db/Database.js';
import { InvalidRangesError } from '../../errors.js';

interface Row {
  lo: string;
  hi: string;
  cluster_id: string;
}

const toRange = (row: Row): WireRange => ({ lo: Number(row.lo), hi: Number(row.hi), clusterId: row.cluster_id });

export class RangeStore {
  constructor(private readonly db: Queryable) {}

  async list(): Promise<WireRange[]> {
    const { rows } = await this.db.query<Row>('SELECT lo, hi, cluster_id FROM shard_ranges ORDER BY lo');
    return rows.map(toRange);
  }

  /** The range holding an org id, if the map covers it. */
  async containing(orgId: number): Promise<WireRange | null> {
    const { rows } = await this.db.query<Row>('SELECT lo, hi, cluster_id FROM shard_ranges WHERE lo <= $1 ORDER BY lo DESC LIMIT 1', [
      orgId,
    ]);
    const range = rows[0] ? toRange(rows[0]) : null;
    return range && range.hi >= orgId ? range : null;
  }

  async countByCluster(clusterId: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM shard_ranges WHERE cluster_id = $1', [clusterId]);
    return rows[0]!.n;
  }

  /** Replace the whole map (ranges are few; replacing keeps every change one code path). */
  async replaceAll(ranges: readonly WireRange[]): Promise<void> {
    try {
      await this.db.query('DELETE FROM shard_ranges');
      await this.db.query(
        `INSERT INTO shard_ranges (lo, hi, cluster_id)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])`,
        [ranges.map((r) => r.lo), ranges.map((r) => r.hi), ranges.map((r) => r.clusterId)],
      );
    } catch (err) {
      const state = sqlState(err);
      if (state === '23P01' || state === '23505')
        throw new InvalidRangesError('ranges overlap', { hint: 'every org id must be in exactly one range' });
      if (state === '23503') {
        throw new InvalidRangesError('a range names a cluster that does not exist', {
          hint: 'register the cluster with POST /v1/clusters first',
        });
      }
      if (state === '23514')
        throw new InvalidRangesError('a range has lo > hi or a negative bound', { hint: 'write every range as lo <= hi' });
      throw err;
    }
  }
}
