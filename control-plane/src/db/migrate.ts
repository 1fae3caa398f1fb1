import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export type SchemaName = 'control-plane' | 'tenant';

/** migrations/<schema>/ at the repository root. */
export function migrationsDir(schema: SchemaName): string {
  return fileURLToPath(new URL(`../../../migrations/${schema}`, import.meta.url));
}

/** Apply every pending migration of a schema; returns the names applied. */
export async function migrate(databaseUrl: string, schema: SchemaName): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir(schema),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    log: () => {},
  });
  return applied.map((m) => m.name);
}
