// Against a real Postgres: the run's server (test/globalSetup.ts), a table of our own.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inTransaction, sqlState, withSession } from '../src/transaction.js';

const table = `kit_tx_${randomBytes(4).toString('hex')}`;
let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: inject('pgAdminUrl'), max: 2 });
  await pool.query(`CREATE TABLE ${table} (id INT PRIMARY KEY)`);
});

afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
});

async function ids(): Promise<number[]> {
  return (await pool.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)).rows.map((r) => r.id);
}

describe('inTransaction', () => {
  it('commits what fn wrote and resolves with what it returned', async () => {
    const result = await inTransaction(pool, async (client) => {
      await client.query(`INSERT INTO ${table} VALUES (1)`);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await ids()).toEqual([1]);
  });

  it('rolls everything back when fn throws, rethrows the error, and returns a healthy session', async () => {
    const boom = new Error('boom');
    await expect(
      inTransaction(pool, async (client) => {
        await client.query(`INSERT INTO ${table} VALUES (2)`);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await ids()).toEqual([1]);
    expect(pool.totalCount).toBeGreaterThan(0);
    expect(pool.idleCount).toBe(pool.totalCount);
  });

  it('rolls back a failed statement and keeps its SQLSTATE', async () => {
    const error = await inTransaction(pool, async (client) => {
      await client.query(`INSERT INTO ${table} VALUES (3)`);
      await client.query(`INSERT INTO ${table} VALUES (1)`);
    }).catch((e: unknown) => e);
    expect(sqlState(error)).toBe('23505');
    expect(await ids()).toEqual([1]);
  });

  it('withBegin: the statement runs inside the transaction, in the same round trip as BEGIN', async () => {
    const pids = new Set<number>();
    const seen = await inTransaction(
      pool,
      async (client: pg.PoolClient) => {
        pids.add((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
        return (await client.query<{ v: string }>("SELECT current_setting('kit.with_begin', true) AS v")).rows[0]!.v;
      },
      { withBegin: "SELECT set_config('kit.with_begin', 'set', true)" },
    );
    // set_config(..., true) lasts for the transaction only: fn saw it, so it ran inside.
    expect(seen).toBe('set');
    expect((await pool.query("SELECT current_setting('kit.with_begin', true) AS v")).rows[0].v ?? '').toBe('');
    expect(pids.size).toBe(1);
  });

  it('withBegin failing: fn never runs, the error is thrown as is, the session is rolled back and reused', async () => {
    let ran = false;
    const error = await inTransaction(
      pool,
      async () => {
        ran = true;
      },
      { withBegin: `INSERT INTO ${table} VALUES (1)` },
    ).catch((e: unknown) => e);
    expect(sqlState(error)).toBe('23505');
    expect(ran).toBe(false);
    expect(pool.idleCount).toBe(pool.totalCount);
    // The session given back is not stuck in the aborted transaction.
    const client = await pool.connect();
    try {
      expect(client.getTransactionStatus?.() ?? 'I').toBe('I');
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      client.release();
    }
  });

  it('runs at the isolation level and access mode asked for', async () => {
    const seen = await inTransaction(
      pool,
      async (client: pg.PoolClient) => {
        const { rows } = await client.query<{ iso: string; ro: string }>(
          "SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro",
        );
        return rows[0];
      },
      { isolation: 'repeatable read', readOnly: true },
    );
    expect(seen).toEqual({ iso: 'repeatable read', ro: 'on' });
  });

  it('refuses an unknown isolation level before it takes a session', async () => {
    const before = pool.totalCount;
    await expect(
      // biome-ignore lint/suspicious/noExplicitAny: the bad input a JavaScript caller can pass
      inTransaction(pool, async () => 1, { isolation: 'chaos; DROP TABLE x' as any }),
    ).rejects.toThrow(RangeError);
    expect(pool.totalCount).toBe(before);
  });

  it('destroys a session whose ROLLBACK failed, and pools one that rolled back', async () => {
    // A real pooled session whose ROLLBACK can be made to fail; release() is recorded.
    const released: unknown[] = [];
    const recording = (failRollback: boolean) => ({
      async connect() {
        const client = await pool.connect();
        return {
          query: (text: string) =>
            failRollback && text === 'ROLLBACK' ? Promise.reject(new Error('connection lost')) : client.query(text),
          release: (destroy?: Error | boolean) => {
            released.push(destroy);
            client.release(destroy);
          },
        };
      },
    });
    const boom = new Error('boom');
    await expect(inTransaction(recording(false), async () => Promise.reject(boom))).rejects.toBe(boom);
    await expect(inTransaction(recording(true), async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(released[0]).toBeUndefined();
    expect(released[1]).toBeInstanceOf(Error);
    expect((released[1] as Error).message).toBe('connection lost');
  });
});

describe('sqlState', () => {
  it('reads a five-character SQLSTATE and nothing else', () => {
    expect(sqlState({ code: '23505' })).toBe('23505');
    expect(sqlState({ code: 'OPF02' })).toBe('OPF02');
    expect(sqlState({ code: 'ECONNREFUSED' })).toBeUndefined();
    expect(sqlState({ code: 23505 })).toBeUndefined();
    expect(sqlState(null)).toBeUndefined();
    expect(sqlState(new Error('x'))).toBeUndefined();
  });
});

describe('withSession', () => {
  it("a connection that dies while the session is out (pg's 'error' between two queries) does not crash the host, and the session is destroyed", async () => {
    const own = new pg.Pool({ connectionString: inject('pgAdminUrl'), max: 1 });
    try {
      const errors: Error[] = [];
      const thrown = await withSession(own, async (client: pg.PoolClient) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // Killed from outside while no query of ours runs: pg emits 'error' on the client.
        client.once('error', (e) => errors.push(e));
        await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        return client.query('SELECT 1').catch((e: unknown) => e);
      });
      expect(errors.length).toBe(1);
      expect(thrown).toBeInstanceOf(Error);
      // Destroyed, not given back: the next checkout is a new, working session.
      expect(own.totalCount).toBe(0);
      expect((await own.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await own.end();
    }
  });
});
