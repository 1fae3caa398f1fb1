// Test support: one real Postgres per test run, databases cloned from migrated
// templates so each test file gets a fresh database in milliseconds.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, type SchemaName } from '@orgplane/control-plane';
import pg from 'pg';
import { freePort, PostgresServer } from './postgresServer.js';

export const TEMPLATE_DB: Record<SchemaName, string> = {
  'control-plane': 'orgplane_tpl_control',
  tenant: 'orgplane_tpl_tenant',
};

export interface TestPostgres {
  server: PostgresServer;
  adminUrl: string;
  stop(): Promise<void>;
}

/** Start a throwaway server in a temp dir and build the migrated template databases. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const root = await mkdtemp(path.join(tmpdir(), 'orgplane-test-pg-'));
  const server = new PostgresServer({
    dataDir: path.join(root, 'data'),
    port: await freePort(),
    password: randomBytes(12).toString('hex'),
    fast: true,
  });
  await server.init();
  await server.start();
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  try {
    for (const [schema, db] of Object.entries(TEMPLATE_DB) as [SchemaName, string][]) {
      await admin.query(`CREATE DATABASE ${db}`);
      await migrate(server.url(db), schema);
      await admin.query(`ALTER DATABASE ${db} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    }
  } finally {
    await admin.end();
  }
  return {
    server,
    adminUrl: server.url(),
    async stop() {
      await server.stop('immediate');
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A fresh database cloned from a migrated template; returns its URL. */
export async function createTestDatabase(adminUrl: string, schema: SchemaName, name?: string): Promise<string> {
  const db = name ?? `t_${schema.replace('-', '_')}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${db} TEMPLATE ${TEMPLATE_DB[schema]}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  return url.toString();
}
