// Content checksums of an org's rows: a count and an order-independent sum of the
// first 60 bits of each row's md5, over every column in table order. The mover's
// sessions use the same output settings on both clusters (ClusterSide), so the same
// row renders the same text on both.
import type { Queryable } from '../../../db/Database.js';
import type { KeySet } from './changeReplay.js';
import { type MoveScope, scopeWhere } from './MoveScope.js';
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

/** The scope's rows of one table. */
export async function scopeChecksum(db: Queryable, table: TableInfo, scope: MoveScope): Promise<Checksum> {
  const { rows } = await db.query<{ n: string; sum: string }>(
    `SELECT ${aggregate(table)} FROM ${table.qname} t WHERE ${scopeWhere(scope, 't.org_id')}`,
  );
  return toChecksum(rows);
}

export function compare(table: string, source: Checksum, target: Checksum): TableVerification {
  return { table, sourceRows: source.rows, targetRows: target.rows, sourceChecksum: source.checksum, targetChecksum: target.checksum };
}

export const matches = (v: TableVerification) => v.sourceRows === v.targetRows && v.sourceChecksum === v.targetChecksum;

/** Each table's checksum over these keys, in one query. */
async function keysChecksums(db: Queryable, parts: { table: TableInfo; keysJson: string }[]): Promise<Map<string, Checksum>> {
  const sql = parts
    .map(
      ({ table }, i) => `SELECT ${i} AS i, ${aggregate(table)} FROM ${table.qname} t
         JOIN jsonb_populate_recordset(NULL::${table.qname}, $${i + 1}::jsonb) k ON ${table.keyJoin('t', 'k')}`,
    )
    .join(' UNION ALL ');
  const { rows } = await db.query<{ i: number; n: string; sum: string }>(
    sql,
    parts.map((p) => p.keysJson),
  );
  const out = new Map<string, Checksum>();
  for (const row of rows) {
    const name = (parts[row.i] as { table: TableInfo }).table.name;
    const sum = toChecksum([row]);
    const seen = out.get(name);
    out.set(name, seen ? add(seen, sum) : sum);
  }
  return out;
}

/**
 * Compare the rows of these keys on both sides (`from` is the sender, `to` the
 * receiver, on different sessions: both queries run at once). One line per table; the
 * work grows with the keys, not with the org.
 */
export async function verifyKeys(
  from: Queryable,
  to: Queryable,
  catalog: Map<string, TableInfo>,
  keys: KeySet,
): Promise<TableVerification[]> {
  const parts = [...keys.batches()].flatMap(([name, keysJson]) => {
    const table = catalog.get(name);
    return table ? [{ table, keysJson }] : [];
  });
  if (parts.length === 0) return [];
  const [a, b] = await Promise.all([keysChecksums(from, parts), keysChecksums(to, parts)]);
  const none: Checksum = { rows: 0, checksum: '0' };
  return [...a.keys()].map((name) => compare(name, a.get(name) ?? none, b.get(name) ?? none));
}

function add(a: Checksum, b: Checksum): Checksum {
  return { rows: a.rows + b.rows, checksum: (BigInt(a.checksum) + BigInt(b.checksum)).toString() };
}
