// Replay of logged changes from one cluster to the other (source -> target while
// moving, target -> source in a rollback). A batch consumes log entries and reads the
// CURRENT rows for their keys in one snapshot of the sending side, then makes the
// receiving side hold exactly those rows (delete by key, insert what exists). The
// receiving side commits first: a crash before the sender commits leaves the entries
// in the log, and replaying them again is harmless. Consuming instead of following a
// cursor means an entry that commits late (its id was taken earlier) is never skipped.
import type { Queryable } from '../../../db/Database.js';
import { TenantSchemaError } from '../../../errors.js';
import { type MoveScope, scopeWhere } from './MoveScope.js';
import { ident, type TableInfo } from './TableCatalog.js';
import type { TableVerification } from './TenantMover.js';
import { verifyKeys } from './verifier.js';

/** Primary keys per table, as the log's jsonb texts (canonical, so they dedupe). */
export class KeySet {
  private readonly byTable = new Map<string, Set<string>>();
  private count = 0;

  add(table: string, key: string): void {
    let keys = this.byTable.get(table);
    if (!keys) {
      keys = new Set();
      this.byTable.set(table, keys);
    }
    if (!keys.has(key)) {
      keys.add(key);
      this.count += 1;
    }
  }

  addAll(other: KeySet): void {
    for (const [table, keys] of other.byTable) for (const key of keys) this.add(table, key);
  }

  get size(): number {
    return this.count;
  }

  /** Each table's keys as one JSON array text, ready for jsonb_populate_recordset. */
  *batches(chunk = 5000): Generator<[string, string]> {
    for (const [table, keys] of this.byTable) {
      const all = [...keys];
      for (let i = 0; i < all.length; i += chunk) yield [table, `[${all.slice(i, i + chunk).join(',')}]`];
    }
  }
}

/**
 * Consume up to `limit` entries; their keys come back deduplicated per table. An org's
 * come oldest first; a span's in index order (org id, then age), which needs no sort of
 * everything logged for it: replay re-reads current rows, so order does not matter.
 */
export async function consumeChanges(from: Queryable, scope: MoveScope, limit: number): Promise<{ consumed: number; keys: KeySet }> {
  const order = scope.kind === 'org' ? 'ORDER BY id' : '';
  const { rows } = await from.query<{ table_name: string; n: number; keys: string[] }>(
    `WITH consumed AS (
       DELETE FROM orgplane_changes
        WHERE id IN (SELECT id FROM orgplane_changes WHERE ${scopeWhere(scope)} ${order} LIMIT $1)
    RETURNING table_name, pk)
     SELECT table_name, count(*)::int AS n, array_agg(DISTINCT pk::text) AS keys FROM consumed GROUP BY table_name`,
    [limit],
  );
  const keys = new KeySet();
  let consumed = 0;
  for (const row of rows) {
    consumed += row.n;
    for (const key of row.keys) keys.add(row.table_name, key);
  }
  return { consumed, keys };
}

function tableOf(catalog: Map<string, TableInfo>, name: string): TableInfo {
  const table = catalog.get(name);
  if (!table) throw new TenantSchemaError(`the change log names ${name}, which is not a tenant table`, { details: { table: name } });
  return table;
}

/**
 * Make `to` hold what `from` holds (in its snapshot) for these keys: one query reads
 * every table's rows on `from`, one statement writes them on `to` (upsert the rows
 * that exist, delete the keys that do not), so the fence pays two round trips per
 * batch rather than a few per table. Rows travel as JSON text: never parsed here.
 */
export async function carryRows(from: Queryable, to: Queryable, catalog: Map<string, TableInfo>, keys: KeySet): Promise<void> {
  const batches = [...keys.batches()].map(([name, keysJson]) => ({ table: tableOf(catalog, name), keysJson }));
  if (batches.length === 0) return;
  const reads = batches.map(({ table }, i) => {
    const q = table.qname;
    return `SELECT ${i} AS i, (SELECT coalesce(json_agg(x), '[]') FROM ${q} x
              JOIN jsonb_populate_recordset(NULL::${q}, $${i + 1}::jsonb) k ON ${table.keyJoin('x', 'k')})::text AS rows`;
  });
  const { rows } = await from.query<{ i: number; rows: string }>(
    reads.join(' UNION ALL '),
    batches.map((b) => b.keysJson),
  );
  const rowsOf = new Map(rows.map((r) => [r.i, r.rows]));
  const values: string[] = [];
  const steps = batches.flatMap(({ table, keysJson }, i) => {
    const q = table.qname;
    const k = values.push(keysJson);
    const r = values.push(rowsOf.get(i) ?? '[]');
    const others = table.copyColumns.filter((c) => !table.primaryKey.includes(c));
    const onConflict = others.length ? `DO UPDATE SET ${others.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`).join(', ')}` : 'DO NOTHING';
    return [
      `d${i} AS (DELETE FROM ${q} x USING jsonb_populate_recordset(NULL::${q}, $${k}::jsonb) k
                  WHERE ${table.keyJoin('x', 'k')}
                    AND NOT EXISTS (SELECT 1 FROM jsonb_populate_recordset(NULL::${q}, $${r}::jsonb) s WHERE ${table.keyJoin('s', 'k')}))`,
      `u${i} AS (INSERT INTO ${q} (${table.columnList()}) OVERRIDING SYSTEM VALUE
                 SELECT ${table.columnList()} FROM jsonb_populate_recordset(NULL::${q}, $${r}::jsonb)
                 ON CONFLICT (${table.columnList(undefined, table.primaryKey)}) ${onConflict})`,
    ];
  });
  await to.query(`WITH ${steps.join(',\n')} SELECT 1`, values);
}

export interface ReplayedBatch {
  consumed: number;
  keys: KeySet;
  /** The carried keys compared on both sides (sender's snapshot, receiver's writes). */
  tables: TableVerification[];
}

/**
 * Consume up to `limit` entries, carry their rows, and compare those keys on both
 * sides before anything commits. With a full verification at snapshot S and every
 * later batch checked like this, the receiver is verified equal to the sender without
 * rereading the org: the fence's check costs what its own drain carried.
 * The caller commits `to`, then `from`.
 */
export async function replayBatch(
  from: Queryable,
  to: Queryable,
  catalog: Map<string, TableInfo>,
  scope: MoveScope,
  limit: number,
): Promise<ReplayedBatch> {
  const batch = await consumeChanges(from, scope, limit);
  if (batch.consumed === 0) return { ...batch, tables: [] };
  await carryRows(from, to, catalog, batch.keys);
  return { ...batch, tables: await verifyKeys(from, to, catalog, batch.keys) };
}

export async function pendingChanges(db: Queryable, scope: MoveScope): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM orgplane_changes WHERE ${scopeWhere(scope)}`);
  return Number(rows[0]?.n ?? 0);
}

/** Forget what is logged for the scope (an abort, a rollback's target, a complete). */
export async function dropChanges(db: Queryable, scope: MoveScope): Promise<void> {
  await db.query(`DELETE FROM orgplane_changes WHERE ${scopeWhere(scope)}`);
}
