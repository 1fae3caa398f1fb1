import { inTransaction as kitInTransaction, type TransactionOptions } from '@orgplane/kit';
import type pg from 'pg';

/** What a store needs: a pool, or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export type { TransactionOptions } from '@orgplane/kit';

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
    return inTransaction(this.pool, (client) => fn(this.makeStores(client)), options);
  }
}

export { sqlState } from '@orgplane/kit';

/**
 * @orgplane/kit's inTransaction (the one the runtime uses too), typed for pg so that the
 * callback's client is a pg.PoolClient: TypeScript cannot infer it from pg.Pool's
 * overloaded connect().
 */
export const inTransaction: <T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, options?: TransactionOptions) => Promise<T> =
  kitInTransaction;

/** The constraint a Postgres error names, if any. */
export function constraintOf(err: unknown): string | undefined {
  const constraint = (err as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
