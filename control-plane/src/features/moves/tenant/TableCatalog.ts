// The tenant tables of a cluster, read from its catalog: every table of the current
// schema with an org_id column (partitioned tables by their parent; orgplane_* tables
// are the move machinery, not tenant data), parents before children. Each table also
// renders the SQL fragments the copier, the replay and the verifier share.
import type { Queryable } from '../../../db/Database.js';
import { TenantSchemaError } from '../../../errors.js';
import type { TenantTable } from './TenantMover.js';

interface CatalogRow {
  name: string;
  partitioned: boolean;
  primary_key: string[] | null;
  columns: string[];
  copy_columns: string[];
  signature: string;
  references: string[];
}

const CATALOG_SQL = `
SELECT c.relname::text AS name,
       c.relkind = 'p' AS partitioned,
       (SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum))
          FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
         WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS copy_columns,
       (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END, ', ' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS signature,
       ARRAY(SELECT DISTINCT r.relname::text FROM pg_constraint f JOIN pg_class r ON r.oid = f.confrelid
              WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid) AS references
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema()
   AND c.relkind IN ('r', 'p')
   AND NOT c.relispartition
   AND c.relname NOT LIKE 'orgplane\\_%'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
 ORDER BY c.relname`;

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** One tenant table with the SQL fragments every step needs. */
export class TableInfo implements TenantTable {
  readonly name: string;
  readonly primaryKey: string[];
  readonly references: string[];
  readonly partitioned: boolean;
  /** Every column, in table order (row texts and checksums). */
  readonly columns: string[];
  /** The columns a write supplies (not generated). */
  readonly copyColumns: string[];
  /** Column names and types, to check both clusters have the same table. */
  readonly signature: string;

  constructor(row: CatalogRow, tenantNames: Set<string>) {
    if (!row.primary_key) throw new TenantSchemaError(`tenant table ${row.name} has no primary key`);
    this.name = row.name;
    this.primaryKey = row.primary_key;
    this.references = row.references.filter((r) => tenantNames.has(r)).sort();
    this.partitioned = row.partitioned;
    this.columns = row.columns;
    this.copyColumns = row.copy_columns;
    this.signature = row.signature;
  }

  /** The public shape, without the internals. */
  toTenantTable(): TenantTable {
    return { name: this.name, primaryKey: [...this.primaryKey], references: [...this.references], partitioned: this.partitioned };
  }

  get qname(): string {
    return ident(this.name);
  }

  columnList(alias?: string, columns = this.copyColumns): string {
    return columns.map((c) => (alias ? `${alias}.${ident(c)}` : ident(c))).join(', ');
  }

  /** `a.k1 = b.k1 AND a.k2 = b.k2` over the primary key. */
  keyJoin(a: string, b: string): string {
    return this.primaryKey.map((c) => `${a}.${ident(c)} = ${b}.${ident(c)}`).join(' AND ');
  }

  /** The row's text over every column, in table order: the unit of every checksum. */
  rowText(alias: string): string {
    return `ROW(${this.columnList(alias, this.columns)})::text`;
  }
}

/** Parents before children; ties by name, so the order is stable. */
function orderByReferences(tables: TableInfo[]): TableInfo[] {
  const ordered: TableInfo[] = [];
  const placed = new Set<string>();
  let rest = [...tables];
  while (rest.length > 0) {
    const ready = rest.filter((t) => t.references.every((r) => placed.has(r)));
    if (ready.length === 0) {
      throw new TenantSchemaError(`tenant tables reference each other in a cycle: ${rest.map((t) => t.name).join(', ')}`, {
        hint: 'a move copies parents before children; break the cycle or make one reference deferrable',
      });
    }
    for (const t of ready) {
      ordered.push(t);
      placed.add(t.name);
    }
    rest = rest.filter((t) => !placed.has(t.name));
  }
  return ordered;
}

export async function readCatalog(db: Queryable): Promise<TableInfo[]> {
  const { rows } = await db.query<CatalogRow>(CATALOG_SQL);
  const names = new Set(rows.map((r) => r.name));
  return orderByReferences(rows.map((r) => new TableInfo(r, names)));
}

/** The source's tables, checked against the target's: same tables, same columns. */
export async function readTenantTables(source: Queryable, target: Queryable): Promise<TableInfo[]> {
  const [mine, theirs] = await Promise.all([readCatalog(source), readCatalog(target)]);
  const targetByName = new Map(theirs.map((t) => [t.name, t]));
  for (const table of mine) {
    const other = targetByName.get(table.name);
    if (!other) throw new TenantSchemaError(`the target cluster has no tenant table ${table.name}`, { details: { table: table.name } });
    if (other.signature !== table.signature || other.primaryKey.join() !== table.primaryKey.join()) {
      throw new TenantSchemaError(`tenant table ${table.name} differs between source and target`, {
        details: { table: table.name, source: table.signature, target: other.signature },
      });
    }
  }
  if (mine.length === 0) throw new TenantSchemaError('the source cluster has no tenant tables');
  return mine;
}
