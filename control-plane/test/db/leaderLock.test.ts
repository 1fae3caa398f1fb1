// LeaderLock against a real Postgres: one leader per key, takeover when the leader's
// session goes, and a re-check that notices a session that no longer answers.
import net from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaderLock, type LeaderLockOptions } from '../../src/db/LeaderLock.js';
import { createLogger } from '../../src/logger.js';
import { freshDatabase, LogCapture } from '../helpers.js';

const databaseUrl = await freshDatabase();
const locks: LeaderLock[] = [];
const closers: (() => void)[] = [];
let nextKey = 1000;

afterEach(async () => {
  // Proxies first: ending a session behind a partition would wait for an answer.
  for (const close of closers.splice(0)) close();
  await Promise.all(locks.splice(0).map((l) => l.release()));
});

function lock(key: number, options: Partial<LeaderLockOptions> = {}): LeaderLock {
  const l = new LeaderLock({
    databaseUrl,
    key,
    applicationName: `orgplane-test-lock-${key}`,
    log: createLogger({ logLevel: 'warn' }, new LogCapture()),
    ...options,
  });
  locks.push(l);
  return l;
}

async function adminQuery<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    return (await admin.query<R>(sql, values)).rows;
  } finally {
    await admin.end();
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A TCP proxy to the test database that can stop forwarding (a network partition). */
async function partitionableUrl(): Promise<{ url: string; partition(): void }> {
  const target = new URL(databaseUrl);
  const pairs: [net.Socket, net.Socket][] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    for (const socket of pairs.flat()) socket.destroy();
    server.close();
  });
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    partition() {
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
  };
}

describe('LeaderLock', () => {
  it('lets one instance lead per key; the other takes over once the leader releases', async () => {
    const key = nextKey++;
    const a = lock(key);
    const b = lock(key);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(await a.stillLeader()).toBe(true);
    expect(await b.stillLeader()).toBe(false);
    // Another key is another election.
    expect(await lock(nextKey++).acquire()).toBe(true);
    await a.release();
    expect(a.isLeader).toBe(false);
    expect(await a.acquire()).toBe(false);
    expect(await b.acquire()).toBe(true);
  });

  it('drops leadership as soon as the lock session is terminated, calls onLost once, and the follower takes over', async () => {
    const key = nextKey++;
    const lost: Error[] = [];
    const a = lock(key, { onLost: (err) => lost.push(err) });
    const b = lock(key);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    const killed = await adminQuery<{ done: boolean }>(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1
          AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)`,
      [`orgplane-test-lock-${key}`],
    );
    expect(killed).toEqual([{ done: true }]);
    await until('the leader to notice', () => !a.isLeader);
    expect(lost).toHaveLength(1);
    expect(await b.acquire()).toBe(true);
    // The old leader reconnects as a follower.
    expect(await a.acquire()).toBe(false);
    expect(lost).toHaveLength(1);
  });

  it('stillLeader() asks the server: a session that stops answering is lost, though pg has not said so', async () => {
    const key = nextKey++;
    const proxy = await partitionableUrl();
    const lost: Error[] = [];
    const a = lock(key, { databaseUrl: proxy.url, timeoutMs: 300, onLost: (err) => lost.push(err) });
    expect(await a.acquire()).toBe(true);
    proxy.partition();
    expect(a.isLeader).toBe(true);
    expect(await a.stillLeader()).toBe(false);
    expect(a.isLeader).toBe(false);
    expect(lost).toHaveLength(1);
  });

  it('gives up connecting after timeoutMs instead of hanging on a server that never answers', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => silent.close());
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String((silent.address() as net.AddressInfo).port);
    const a = lock(nextKey++, { databaseUrl: url.toString(), timeoutMs: 200 });
    expect(await a.acquire()).toBe(false);
    expect(a.isLeader).toBe(false);
  });

  it('gives the lock back when onAcquired throws', async () => {
    const key = nextKey++;
    const a = lock(key, {
      onAcquired: async () => {
        throw new Error('LISTEN failed');
      },
    });
    const b = lock(key);
    expect(await a.acquire()).toBe(false);
    expect(a.isLeader).toBe(false);
    expect(await b.acquire()).toBe(true);
  });
});
