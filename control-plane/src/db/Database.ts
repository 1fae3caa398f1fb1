import type pg from 'pg';

/** What a store needs: a pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
}

/**
 * The control DB. `stores` are bound to the pool; `transaction` hands a callback a set
 * of stores bound to one connection inside BEGIN/COMMIT, so a service composes stores
 * without knowing about connections.
 */
export class Database<S> {
  readonly stores: S;

  constructor(
    readonly pool: pg.Pool,
    private readonly makeStores: (db: Queryable) => S,
  ) {
    this.stores = makeStores(pool);
  }

  async transaction<T>(fn: (stores: S) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const mode = `${options.isolation ? ` ISOLATION LEVEL ${options.isolation.toUpperCase()}` : ''}${options.readOnly ? ' READ ONLY' : ''}`;
    return inTransaction(this.pool, `BEGIN${mode}`, (client) => fn(this.makeStores(client)));
  }
}

/**
 * Runs `fn` on one pooled session inside `begin` (a BEGIN statement) and COMMIT; on an
 * error, ROLLBACK. A connection whose ROLLBACK failed is in an unknown state: it is
 * dropped from the pool. The control DB and the moves' tenant sessions both use it.
 */
export async function inTransaction<T>(pool: pg.Pool, begin: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(begin);
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The constraint a Postgres error names, if any. */
export function constraintOf(err: unknown): string | undefined {
  const constraint = (err as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
