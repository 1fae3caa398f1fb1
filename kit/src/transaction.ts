// Transactions and SQLSTATEs over structural types, so that this package needs no `pg`:
// a pg.Pool and its pg.PoolClient fit them.

/** What inTransaction needs from a pooled session (pg.PoolClient fits). */
export interface TransactionClient {
  query(text: string): Promise<unknown>;
  /** Passing an error (or true) destroys the session instead of returning it to the pool. */
  release(destroy?: Error | boolean): void;
  /**
   * pg emits 'error' on a checked-out client whose connection dies between two queries;
   * with no listener that is an uncaught exception in the host, so one is held while the
   * session is out.
   */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
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
  /**
   * A statement sent right after COMMIT in the same round trip (outside the transaction),
   * such as reading the WAL position the commit reached; `result` gets its rows once the
   * commit succeeded. No parameters, as for withBegin; it must not fail (an error in it
   * would read as a failed transaction although the commit went through).
   */
  withCommit?: { statement: string; result(rows: Record<string, unknown>[]): void };
}

const ISOLATIONS = new Set(['read committed', 'repeatable read', 'serializable']);

/**
 * Runs `fn` on one session checked out of `pool`, and gives it back after. The session is
 * destroyed instead when its connection failed while it was out (pg emits 'error' on a
 * checked-out client whose server goes away between two queries: unheard, that would
 * crash the host) or when `fn` calls `broken` (it left the session in an unknown state).
 */
export async function withSession<C extends TransactionClient, T>(
  pool: TransactionPool<C>,
  fn: (client: C, broken: (error: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on?.('error', onError);
  try {
    return await fn(client, onError);
  } finally {
    client.removeListener?.('error', onError);
    client.release(broken);
  }
}

/**
 * Runs `fn` on one pooled session between BEGIN and COMMIT, and resolves with what it
 * returned. When `fn` (or COMMIT) throws: ROLLBACK, and the error is rethrown. A session
 * whose ROLLBACK failed, or whose connection failed, is destroyed rather than returned.
 */
export async function inTransaction<C extends TransactionClient, T>(
  pool: TransactionPool<C>,
  fn: (client: C) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const begin = options.withBegin === undefined ? beginStatement(options) : `${beginStatement(options)}; ${options.withBegin}`;
  const commit = options.withCommit === undefined ? 'COMMIT' : `COMMIT; ${options.withCommit.statement}`;
  const rollback = async (client: C, broken: (error: Error) => void) => {
    await client.query('ROLLBACK').catch((cause: unknown) => broken(asError(cause)));
  };
  const { result, committed } = await withSession(pool, async (client, broken) => {
    try {
      await client.query(begin);
    } catch (error) {
      // A session that cannot even BEGIN is not given back to the pool; one whose
      // statement sent with BEGIN failed is in an aborted transaction: roll it back.
      if (options.withBegin === undefined || sqlState(error) === undefined) broken(asError(error));
      else await rollback(client, broken);
      throw error;
    }
    try {
      const result = await fn(client);
      return { result, committed: await client.query(commit) };
    } catch (error) {
      await rollback(client, broken);
      throw error;
    }
  });
  options.withCommit?.result(lastRows(committed));
  return result;
}

/** The rows of the last statement of a simple-protocol query (pg answers an array for several). */
function lastRows(result: unknown): Record<string, unknown>[] {
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  const rows = (last as { rows?: unknown } | undefined)?.rows;
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
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
