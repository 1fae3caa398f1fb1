// A replica seeded from a running primary (no pg_basebackup in the embedded binaries):
// it holds what was committed before the copy, streams what comes after, and can be made
// to lag (replay paused) or to vanish (server stopped) on purpose.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, PostgresServer } from '../src/postgresServer.js';

const servers: PostgresServer[] = [];
let root: string;
let primary: PostgresServer;
let replica: PostgresServer;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'orgplane-streaming-'));
  await chmod(root, 0o755);
  primary = new PostgresServer({ dataDir: path.join(root, 'primary', 'data'), port: await freePort(), password: 'pw', fast: true });
  servers.push(primary);
  await primary.init();
  await primary.start();
  await primary.sql('CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)');
  replica = await primary.startStreamingReplica({ dataDir: path.join(root, 'replica', 'data'), slot: 'replica_a' });
  servers.push(replica);
});

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop('immediate').catch(() => {});
  await rm(root, { recursive: true, force: true });
});

async function count(server: PostgresServer): Promise<number> {
  return Number((await server.sql<{ n: string }>('SELECT count(*) AS n FROM t'))[0]!.n);
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('holds the rows committed before the copy and streams the ones after, as a standby on its own port', async () => {
  expect(replica.port).not.toBe(primary.port);
  expect((await replica.sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]!.r).toBe(true);
  expect(await count(replica)).toBe(1000);
  await primary.sql('INSERT INTO t VALUES (1001)');
  await eventually(async () => (await count(replica)) === 1001, 'the new row on the replica');
  const [slot] = await primary.sql<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = 'replica_a'");
  expect(slot?.active).toBe(true);
});

it('stops applying writes while replay is paused, and catches up on resume', async () => {
  await replica.pauseReplay();
  await eventually(async () => (await replica.replayPauseState()) === 'paused', 'replay paused');
  const before = await count(replica);
  await primary.sql('INSERT INTO t VALUES (2000)');
  // The WAL arrives (receive LSN moves) but is not replayed.
  const [{ lsn }] = (await primary.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
  await eventually(
    async () => (await replica.sql<{ ok: boolean }>('SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS ok', [lsn]))[0]!.ok,
    'the WAL received',
  );
  expect(await count(replica)).toBe(before);
  await replica.resumeReplay();
  await eventually(async () => (await count(replica)) === before + 1, 'replay to catch up');
});

it('comes back streaming after its server is stopped and started', async () => {
  await replica.stop('fast');
  expect(replica.pid()).toBeNull();
  await expect(count(replica)).rejects.toThrow();
  await primary.sql('INSERT INTO t VALUES (3000)');
  await replica.start();
  await eventually(
    async () => (await replica.sql<{ n: string }>('SELECT count(*) AS n FROM t WHERE x = 3000'))[0]!.n === '1',
    'the row written while it was down',
  );
});

it('refuses to seed online from a stopped primary', async () => {
  const stopped = new PostgresServer({ dataDir: path.join(root, 'never', 'data'), port: 1, password: 'x' });
  await expect(stopped.startStreamingReplica({ dataDir: path.join(root, 'never-replica', 'data'), slot: 'x' })).rejects.toThrow(
    /running primary/,
  );
});
