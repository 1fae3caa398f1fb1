// The embedded server class against real binaries: a replica's connection settings are
// written into postgresql.conf, so a password that needs quoting must survive that.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { freePort, PostgresServer } from '../src/postgresServer.js';

const servers: PostgresServer[] = [];
let root: string | undefined;

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop('immediate').catch(() => {});
  if (root) await rm(root, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

it('streams to a replica through its slot when the password holds a space, a quote and a backslash', async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orgplane-pgserver-'));
  await chmod(root, 0o755);
  const password = "p w'x\\y";
  const primary = new PostgresServer({ dataDir: path.join(root, 'primary', 'data'), port: await freePort(), password, fast: true });
  servers.push(primary);
  await primary.init();
  await primary.start();
  await primary.ensureReplicationSlot('replica_1');
  await primary.stop('fast');
  const replica = await primary.createReplica({ dataDir: path.join(root, 'replica', 'data'), port: await freePort(), slot: 'replica_1' });
  servers.push(replica);
  await primary.start();
  await replica.start();

  await query(primary.url(), 'CREATE TABLE replicated (x int); INSERT INTO replicated VALUES (42)');
  const deadline = Date.now() + 30_000;
  let seen: { x: number }[] = [];
  while (Date.now() < deadline) {
    seen = await query<{ x: number }>(replica.url(), 'SELECT x FROM replicated').catch(() => []);
    if (seen.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(seen).toEqual([{ x: 42 }]);
  const [walsender] = await query<{ application_name: string }>(primary.url(), 'SELECT application_name FROM pg_stat_replication');
  expect(walsender?.application_name).toBe('replica_1');
  const [slot] = await query<{ active: boolean }>(primary.url(), "SELECT active FROM pg_replication_slots WHERE slot_name = 'replica_1'");
  expect(slot?.active).toBe(true);
});

it('refuses a slot name that is not one before writing any config', async () => {
  const server = new PostgresServer({ dataDir: path.join(tmpdir(), 'orgplane-never', 'data'), port: 1, password: 'x' });
  await expect(
    server.createReplica({ dataDir: path.join(tmpdir(), 'orgplane-never-r', 'data'), port: 2, slot: "x'; drop" }),
  ).rejects.toThrow(/not a replication slot name/);
});
