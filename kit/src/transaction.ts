// Transactions and SQLSTATEs over structural types, so that this package needs no `pg`:
// a pg.Pool and its pg.PoolClient fit them.

/** What inTransaction needs from a pooled session (pg.PoolClient fits). */
export interface TransactionClient {
  query(text: string): Promise<unknown>;
  /** Passing an error (or true) destroys the session instead of returning it to the pool. */
  release(destroy?: Error | boolean): void;
}

/** What inTransaction needs from a pool (pg.Pool fits). */
export interface TransactionPool<C extends TransactionClient> {
  connect(): Promise<C>;
}

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
  /**
   * A statement sent with BEGIN in the same round trip (the simple query protocol), such
   * as the runtime's ownership check. It takes no parameters: inline only values that
   * were validated, never user text.
   */
  withBegin?: string;
}

const ISOLATIONS = new Set(['read committed', 'repeatable read', 'serializable']);

/**
 * Runs `fn` on one pooled session between BEGIN and COMMIT, and resolves with what it
 * returned. When `fn` (or COMMIT) throws: ROLLBACK, and the error is rethrown. A session
 * whose ROLLBACK failed is in an unknown state, so it is destroyed rather than returned.
 */
export async function inTransaction<C extends TransactionClient, T>(
  pool: TransactionPool<C>,
  fn: (client: C) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const begin = options.withBegin === undefined ? beginStatement(options) : `${beginStatement(options)}; ${options.withBegin}`;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
  } catch (error) {
    if (options.withBegin === undefined || sqlState(error) === undefined) {
      // A session that cannot even BEGIN is not given back to the pool.
      client.release(asError(error));
      throw error;
    }
    // The statement sent with BEGIN failed inside the transaction it opened.
    await client.query('ROLLBACK').catch((cause: unknown) => {
      broken = asError(cause);
    });
    client.release(broken);
    throw error;
  }
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((cause: unknown) => {
      broken = asError(cause);
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function beginStatement(options: TransactionOptions): string {
  let begin = 'BEGIN';
  if (options.isolation !== undefined) {
    if (!ISOLATIONS.has(options.isolation)) throw new RangeError(`inTransaction: unknown isolation level ${String(options.isolation)}`);
    begin += ` ISOLATION LEVEL ${options.isolation.toUpperCase()}`;
  }
  if (options.readOnly) begin += ' READ ONLY';
  return begin;
}

/** The SQLSTATE of a Postgres error (five digits or capitals, e.g. '23505', 'OPF02'), or undefined. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
