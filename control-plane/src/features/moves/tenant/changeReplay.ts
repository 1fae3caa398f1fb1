// Replay of logged changes from one cluster to the other (source -> target while
// moving, target -> source in a rollback). A batch consumes log entries and reads the
// CURRENT rows for their keys in one snapshot of the sending side, then makes the
// receiving side hold exactly those rows (delete by key, insert what exists). The
// receiving side commits first: a crash before the sender commits leaves the entries
// in the log, and replaying them again is harmless. Consuming instead of following a
// cursor means an entry that commits late (its id was taken earlier) is never skipped.
import type { Queryable } from '../../../db/Database.js';
import { TenantSchemaError } from '../../../errors.js';
import type { TableInfo } from './TableCatalog.js';

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

export async function consumeChanges(from: Queryable, orgId: number, limit: number): Promise<{ consumed: number; keys: KeySet }> {
  const { rows } = await from.query<{ table_name: string; pk: string }>(
    `DELETE FROM orgplane_changes
      WHERE id IN (SELECT id FROM orgplane_changes WHERE org_id = $1 ORDER BY id LIMIT $2)
  RETURNING table_name, pk::text AS pk`,
    [orgId, limit],
  );
  const keys = new KeySet();
  for (const row of rows) keys.add(row.table_name, row.pk);
  return { consumed: rows.length, keys };
}

function tableOf(catalog: Map<string, TableInfo>, name: string): TableInfo {
  const table = catalog.get(name);
  if (!table) throw new TenantSchemaError(`the change log names ${name}, which is not a tenant table`, { details: { table: name } });
  return table;
}

/** Make `to` hold what `from` holds (in its snapshot) for these keys. */
export async function carryRows(from: Queryable, to: Queryable, catalog: Map<string, TableInfo>, keys: KeySet): Promise<void> {
  for (const [name, keysJson] of keys.batches()) {
    const table = tableOf(catalog, name);
    const q = table.qname;
    // Rows travel as JSON text: this process never parses them.
    const { rows } = await from.query<{ rows: string }>(
      `SELECT coalesce(json_agg(t), '[]')::text AS rows
         FROM ${q} t JOIN jsonb_populate_recordset(NULL::${q}, $1::jsonb) k ON ${table.keyJoin('t', 'k')}`,
      [keysJson],
    );
    const rowsJson = rows[0]?.rows ?? '[]';
    await to.query(`DELETE FROM ${q} t USING jsonb_populate_recordset(NULL::${q}, $1::jsonb) k WHERE ${table.keyJoin('t', 'k')}`, [
      keysJson,
    ]);
    if (rowsJson !== '[]') {
      await to.query(
        `INSERT INTO ${q} (${table.columnList()}) OVERRIDING SYSTEM VALUE
         SELECT ${table.columnList()} FROM jsonb_populate_recordset(NULL::${q}, $1::jsonb)`,
        [rowsJson],
      );
    }
  }
}

/** Consume up to `limit` entries and carry their rows; the caller commits `to`, then `from`. */
export async function replayBatch(
  from: Queryable,
  to: Queryable,
  catalog: Map<string, TableInfo>,
  orgId: number,
  limit: number,
): Promise<{ consumed: number; keys: KeySet }> {
  const batch = await consumeChanges(from, orgId, limit);
  if (batch.consumed > 0) await carryRows(from, to, catalog, batch.keys);
  return batch;
}

export async function pendingChanges(db: Queryable, orgId: number): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM orgplane_changes WHERE org_id = $1', [orgId]);
  return Number(rows[0]?.n ?? 0);
}
