// Where to cut a cluster's ranges so that P % of its orgs (or of its rows) move: read from
// the source's own tables, never estimated from the map. Orgs served by a pin are not the
// ranges' to move (a range move leaves them alone), so they count for nothing here.
//
// The cut takes the top of the source: its ranges are walked from the highest; a range
// holding no more than what is still wanted moves whole, and the one that holds more is
// split at the org id s where [s, hi] holds exactly what is left (by rows: the highest s
// whose [s, hi] holds at least what is left). So at most one range is split.
import type pg from 'pg';
import type { RebalanceBy } from '../../api/rules.js';
import { readCatalog } from './tenant/TableCatalog.js';

export interface SourceRange {
  lo: number;
  hi: number;
}

export interface PlannedRange {
  lo: number;
  hi: number;
  /** [splitAt, hi] moves; null: the whole range. */
  splitAt: number | null;
  orgs: number;
  rows: number;
}

export interface SourcePlan {
  sourceOrgs: number;
  sourceRows: number;
  orgs: number;
  rows: number;
  /** Ascending by lo. */
  ranges: PlannedRange[];
}

/** `P %` of `total`, rounded up; the float product is rounded first so that 10 % of 30 is 3, not 4. */
export function shareOf(percent: number, total: number): number {
  return Math.ceil(Number(((percent * total) / 100).toFixed(6)));
}

/**
 * The plan on the source, in one session (`client` on its primary). `ranges` are the
 * source's ranges, ascending; `pinned` the org ids inside them that have a pin.
 */
export async function planOnSource(
  client: pg.Client,
  input: { ranges: readonly SourceRange[]; pinned: readonly number[]; by: RebalanceBy; percent: number },
): Promise<SourcePlan> {
  const source = new SourceCounts(client, input.pinned, await tenantTables(client));
  const totals = await source.perRange(input.ranges);
  const sourceOrgs = totals.reduce((sum, t) => sum + t.orgs, 0);
  const sourceRows = totals.reduce((sum, t) => sum + t.rows, 0);
  const empty = { sourceOrgs, sourceRows, orgs: 0, rows: 0, ranges: [] };
  if (sourceOrgs === 0) return empty;

  let wanted = shareOf(input.percent, input.by === 'orgs' ? sourceOrgs : sourceRows);
  const planned: PlannedRange[] = [];
  for (let i = input.ranges.length - 1; i >= 0 && wanted > 0; i--) {
    const range = input.ranges[i]!;
    const total = totals[i]!;
    const holds = input.by === 'orgs' ? total.orgs : total.rows;
    if (holds <= wanted) {
      planned.push({ lo: range.lo, hi: range.hi, splitAt: null, ...total });
      wanted -= holds;
      continue;
    }
    const top = input.by === 'orgs' ? await source.topOrgs(range, wanted) : await source.topRows(range, wanted);
    planned.push({ lo: range.lo, hi: range.hi, splitAt: top.from === range.lo ? null : top.from, orgs: top.orgs, rows: top.rows });
    wanted = 0;
  }
  planned.reverse();
  return {
    ...empty,
    orgs: planned.reduce((sum, r) => sum + r.orgs, 0),
    rows: planned.reduce((sum, r) => sum + r.rows, 0),
    ranges: planned,
  };
}

/** The spans to move: the planned parts, adjacent parts joined (one range move each). */
export function spansOf(ranges: readonly PlannedRange[]): SourceRange[] {
  const spans: SourceRange[] = [];
  for (const r of ranges) {
    const lo = r.splitAt ?? r.lo;
    const last = spans[spans.length - 1];
    if (last && last.hi + 1 === lo) last.hi = r.hi;
    else spans.push({ lo, hi: r.hi });
  }
  return spans;
}

/** The tenant tables as a move sees them (partitioned ones through their parent). */
async function tenantTables(client: pg.Client): Promise<string[]> {
  return (await readCatalog(client)).map((t) => t.qname);
}

/** Counting queries over the source's tenant tables, pinned orgs left out. */
class SourceCounts {
  constructor(
    private readonly client: pg.Client,
    private readonly pinned: readonly number[],
    private readonly tables: readonly string[],
  ) {}

  /** Orgs (rows of `organizations`) and rows (of every tenant table) in each range. */
  async perRange(ranges: readonly SourceRange[]): Promise<{ orgs: number; rows: number }[]> {
    const rows = this.tables.map((t) => `(SELECT count(*) FROM ${t} x WHERE x.org_id BETWEEN r.lo AND r.hi AND x.org_id <> ALL($3))`);
    const { rows: counted } = await this.client.query<{ orgs: string; rows: string }>(
      `SELECT (SELECT count(*) FROM organizations o WHERE o.org_id BETWEEN r.lo AND r.hi AND o.org_id <> ALL($3)) AS orgs,
              ${rows.length > 0 ? rows.join(' + ') : '0'} AS rows
         FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS r(lo, hi, i)
        ORDER BY r.i`,
      [ranges.map((r) => r.lo), ranges.map((r) => r.hi), this.pinned],
    );
    return counted.map((c) => ({ orgs: Number(c.orgs), rows: Number(c.rows) }));
  }

  /** The org id s where [s, hi] holds exactly `k` orgs (the range holds more), and the rows of [s, hi]. */
  async topOrgs(range: SourceRange, k: number): Promise<{ from: number; orgs: number; rows: number }> {
    // One backward scan of the primary key.
    const { rows } = await this.client.query<{ org_id: string }>(
      `SELECT org_id FROM organizations WHERE org_id BETWEEN $1 AND $2 AND org_id <> ALL($3)
        ORDER BY org_id DESC OFFSET $4 LIMIT 1`,
      [range.lo, range.hi, this.pinned, k - 1],
    );
    const from = Number(rows[0]!.org_id);
    const [counts] = await this.perRange([{ lo: from, hi: range.hi }]);
    return { from, orgs: k, rows: counts!.rows };
  }

  /**
   * The highest org id s where [s, hi] holds at least `wanted` rows (the range holds more),
   * with the orgs and rows of [s, hi]: one GROUP BY org_id per table, summed per org and
   * walked down from the top.
   */
  async topRows(range: SourceRange, wanted: number): Promise<{ from: number; orgs: number; rows: number }> {
    const perTable = this.tables.map(
      (t) => `SELECT x.org_id, count(*) AS n FROM ${t} x WHERE x.org_id BETWEEN $1 AND $2 AND x.org_id <> ALL($3) GROUP BY x.org_id`,
    );
    const { rows } = await this.client.query<{ org_id: string; rows: string; orgs: string }>(
      `WITH per_org AS (SELECT org_id, sum(n) AS n FROM (${perTable.join(' UNION ALL ')}) t GROUP BY org_id),
            walked AS (SELECT org_id, sum(n) OVER w AS rows, count(*) OVER w AS orgs FROM per_org
                        WINDOW w AS (ORDER BY org_id DESC ROWS UNBOUNDED PRECEDING))
       SELECT org_id, rows, orgs FROM walked WHERE rows >= $4 ORDER BY org_id DESC LIMIT 1`,
      [range.lo, range.hi, this.pinned, wanted],
    );
    const top = rows[0]!;
    return { from: Number(top.org_id), orgs: Number(top.orgs), rows: Number(top.rows) };
  }
}
