// Content checksums of an org's rows: a count and an order-independent sum of the
// first 60 bits of each row's md5, over every column in table order. The mover's
// sessions use the same output settings on both clusters (ClusterSide), so the same
// row renders the same text on both.
import type { Queryable } from '../../../db/Database.js';
import type { KeySet } from './changeReplay.js';
import type { TableInfo } from './TableCatalog.js';
import type { TableVerification } from './TenantMover.js';

export interface Checksum {
  rows: number;
  checksum: string;
}

const aggregate = (table: TableInfo) =>
  `count(*)::text AS n, coalesce(sum(('x' || substr(md5(${table.rowText('t')}), 1, 15))::bit(60)::bigint), 0)::text AS sum`;

function toChecksum(rows: { n: string; sum: string }[]): Checksum {
  return { rows: Number(rows[0]?.n ?? 0), checksum: rows[0]?.sum ?? '0' };
}

/** The org's rows of one table. */
export async function orgChecksum(db: Queryable, table: TableInfo, orgId: number): Promise<Checksum> {
  const { rows } = await db.query<{ n: string; sum: string }>(`SELECT ${aggregate(table)} FROM ${table.qname} t WHERE t.org_id = $1`, [
    orgId,
  ]);
  return toChecksum(rows);
}

/** The rows with these keys (a JSON array of key objects). */
export async function keysChecksum(db: Queryable, table: TableInfo, keysJson: string): Promise<Checksum> {
  const { rows } = await db.query<{ n: string; sum: string }>(
    `SELECT ${aggregate(table)} FROM ${table.qname} t
       JOIN jsonb_populate_recordset(NULL::${table.qname}, $1::jsonb) k ON ${table.keyJoin('t', 'k')}`,
    [keysJson],
  );
  return toChecksum(rows);
}

export function compare(table: string, source: Checksum, target: Checksum): TableVerification {
  return { table, sourceRows: source.rows, targetRows: target.rows, sourceChecksum: source.checksum, targetChecksum: target.checksum };
}

export const matches = (v: TableVerification) => v.sourceRows === v.targetRows && v.sourceChecksum === v.targetChecksum;

/**
 * Compare the rows of these keys on both sides (`from` is the sender, `to` the
 * receiver). One line per table; the work grows with the keys, not with the org.
 */
export async function verifyKeys(
  from: Queryable,
  to: Queryable,
  catalog: Map<string, TableInfo>,
  keys: KeySet,
): Promise<TableVerification[]> {
  const sums = new Map<string, { from: Checksum; to: Checksum }>();
  for (const [name, keysJson] of keys.batches()) {
    const table = catalog.get(name);
    if (!table) continue;
    const [a, b] = [await keysChecksum(from, table, keysJson), await keysChecksum(to, table, keysJson)];
    const seen = sums.get(name);
    if (!seen) sums.set(name, { from: a, to: b });
    else {
      seen.from = add(seen.from, a);
      seen.to = add(seen.to, b);
    }
  }
  return [...sums].map(([name, s]) => compare(name, s.from, s.to));
}

function add(a: Checksum, b: Checksum): Checksum {
  return { rows: a.rows + b.rows, checksum: (BigInt(a.checksum) + BigInt(b.checksum)).toString() };
}
