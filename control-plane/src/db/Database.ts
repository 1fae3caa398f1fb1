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
    const client = await this.pool.connect();
    let broken = false;
    try {
      const mode = `${options.isolation ? ` ISOLATION LEVEL ${options.isolation.toUpperCase()}` : ''}${options.readOnly ? ' READ ONLY' : ''}`;
      await client.query(`BEGIN${mode}`);
      try {
        const result = await fn(this.makeStores(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      }
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: drop it from the pool.
      client.release(broken);
    }
  }
}

/** The SQLSTATE of a Postgres error, if it is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** The constraint a Postgres error names, if any. */
export function constraintOf(err: unknown): string | undefined {
  const constraint = (err as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
