// Bulk copy of one table's rows of a move's scope: binary COPY out of the source piped
// into binary COPY into the target, in one target transaction per stream that first
// removes what an earlier, interrupted attempt left of its slice. No per-row work happens
// in this process: the streams move COPY data chunks, and backpressure comes from
// stream.pipeline.
//
// An org is one stream. A span of orgs is cut into slices of its org ids, one stream
// each, all at once (the caller bounds how many: copyStreams). Each stream reads in its
// own snapshot, all taken after the capture started, so whatever a snapshot misses is in
// the change log and the catch-up carries it, as with one stream. A stream may read from
// a replica of the source that has replayed past the capture's start (`reader`): its
// snapshot then holds every write the log does not. A replica can cancel a long COPY
// when replay conflicts with it (SQLSTATE 40001): that slice is copied again from the
// primary.
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { sqlState } from '../../../db/Database.js';
import type { ClusterSide } from './ClusterSide.js';
import { type MoveScope, scopeWhere } from './MoveScope.js';
import type { TableInfo } from './TableCatalog.js';
import type { CopyProgress, TableCopyResult } from './TenantMover.js';

const PROGRESS_EVERY_MS = 500;
/**
 * A copy this big gets its table ANALYZEd right away; a smaller one is left to
 * autovacuum. Statistics only go wrong when a copy changes a table a lot (autovacuum
 * itself waits for 10 % of it), so a copy below this can only shift the statistics of a
 * table small enough that any plan over it is cheap. ANALYZE costs the same whatever
 * the copy: on a cluster of 10,000 orgs about 1 s for the seven tables (0.5 s for the
 * partitioned revenues, whose partitions it all samples), which made a batch of small
 * orgs crawl at 2.5 s of copy each for a dozen rows.
 */
export const ANALYZE_MIN_ROWS = 10_000;
/** Stream buffers: large enough that a chunk is many rows, not one. */
const STREAM_BUFFER_BYTES = 1 << 20;

export interface CopyOptions {
  /** The primary of the source. */
  source: ClusterSide;
  /** Where the streams read: a caught-up replica of the source, or the source itself. */
  reader?: ClusterSide;
  target: ClusterSide;
  table: TableInfo;
  scope: MoveScope;
  /** A span's slices (sub-spans of it, in order, covering it), one stream each; an org: one. */
  slices?: readonly { lo: number; hi: number }[];
  onProgress: (p: CopyProgress) => void;
  /** Told when a slice read from the replica is copied again from the primary. */
  onFallback?: (err: unknown) => void;
}

interface Counts {
  rows: number;
  bytes: number;
}

/** One stream: the rows of `scope` in `table`, from `from` into `target`. */
async function copyStream(from: ClusterSide, target: ClusterSide, table: TableInfo, scope: MoveScope, counts: Counts): Promise<Date> {
  const reader = await from.connect(false);
  let to: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  const where = scopeWhere(scope);
  const base = { ...counts };
  const listening: (() => void)[] = [];
  let clean = false;
  try {
    to = await target.connect(true);
    const { rows: pidRows } = await to.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const targetPid = pidRows[0]?.pid;
    await to.query('BEGIN');
    await to.query(`DELETE FROM ${table.qname} WHERE ${where}`);
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The snapshot is taken by this first statement and used by the COPY below.
    const { rows: atRows } = await reader.query<{ at: Date }>('SELECT now() AS at');
    const copiedAt = atRows[0]?.at ?? new Date();

    // COPY takes no parameters; the scope's ids are checked integers.
    const out = reader.query(
      copyTo(`COPY (SELECT ${table.columnList()} FROM ${table.qname} WHERE ${where}) TO STDOUT (FORMAT binary)`, {
        highWaterMark: STREAM_BUFFER_BYTES,
      }),
    );
    const into = to.query(
      copyFrom(`COPY ${table.qname} (${table.columnList()}) FROM STDIN (FORMAT binary)`, { highWaterMark: STREAM_BUFFER_BYTES }),
    );
    // A session that dies mid-stream (terminated, network) fails the copy instead of
    // leaving the pipeline waiting for data that will never come.
    const watch = (client: pg.Client, which: string) => {
      const lost = (err?: Error) => {
        const cause = err ?? new Error(`the ${which} session ended during the copy`);
        out.destroy(cause);
        into.destroy(cause);
      };
      client.on('error', lost);
      client.on('end', lost);
      // Sessions outlive the copy (recycle): its listeners must not.
      listening.push(() => {
        client.off('error', lost);
        client.off('end', lost);
      });
    };
    watch(reader, 'source');
    watch(to, 'target');
    out.on('data', (chunk: Buffer) => {
      counts.bytes += chunk.length;
    });
    // Rows so far, from the target's COPY progress (a count the server keeps anyway).
    let seen = 0;
    timer = setInterval(() => {
      target.pool
        .query<{ n: string }>('SELECT tuples_processed AS n FROM pg_stat_progress_copy WHERE pid = $1', [targetPid])
        .then(({ rows: r }) => {
          const n = Number(r[0]?.n ?? seen);
          if (n > seen) counts.rows += n - seen;
          seen = Math.max(seen, n);
        })
        .catch(() => {});
    }, PROGRESS_EVERY_MS);
    await pipeline(out, into);
    clearInterval(timer);
    timer = undefined;
    counts.rows += into.rowCount - seen;
    await to.query('COMMIT');
    await reader.query('COMMIT');
    clean = true;
    return copiedAt;
  } catch (err) {
    // Nothing of this stream committed: its progress goes with it.
    counts.rows = base.rows;
    counts.bytes = base.bytes;
    throw err;
  } finally {
    if (timer) clearInterval(timer);
    for (const stop of listening) stop();
    // Ending the sessions rolls back whatever an error left open; after a copy that
    // committed, they serve the next table's copy.
    await (clean ? from.recycle(reader) : from.drop(reader));
    if (to) await (clean ? target.recycle(to) : target.drop(to));
  }
}

/** Copy the scope's rows of one table: every slice at once, each from the reader (else the primary). */
export async function copyScopeTable(options: CopyOptions): Promise<TableCopyResult> {
  const { source, target, table, scope, onProgress } = options;
  const slices: MoveScope[] =
    scope.kind === 'range' && options.slices && options.slices.length > 0
      ? options.slices.map((s) => ({ ...scope, lo: s.lo, hi: s.hi }))
      : [scope];
  const perSlice: Counts[] = slices.map(() => ({ rows: 0, bytes: 0 }));
  const total = () => perSlice.reduce((a, c) => ({ rows: a.rows + c.rows, bytes: a.bytes + c.bytes }), { rows: 0, bytes: 0 });
  const timer = setInterval(() => onProgress({ table: table.name, ...total() }), PROGRESS_EVERY_MS);
  try {
    const copiedAt = await Promise.all(
      slices.map(async (slice, i) => {
        const counts = perSlice[i]!;
        if (options.reader) {
          try {
            return await copyStream(options.reader, target, table, slice, counts);
          } catch (err) {
            // A replica cancelled the COPY (recovery conflict) or went away: the primary
            // always has the rows. Anything else is the copy's own failure.
            if (sqlState(err) !== '40001' && sqlState(err) !== '57P01' && sqlState(err) !== undefined) throw err;
            options.onFallback?.(err);
          }
        }
        return copyStream(source, target, table, slice, counts);
      }),
    );
    const result = total();
    // Fresh statistics, so the replay's key lookups are planned for the rows just added.
    if (result.rows >= ANALYZE_MIN_ROWS) await target.pool.query(`ANALYZE ${table.qname}`);
    onProgress({ table: table.name, ...result });
    // The oldest snapshot, for the record: every change after it is in the log.
    const first = copiedAt.reduce((a, b) => (a < b ? a : b));
    return { table: table.name, ...result, copiedAt: first };
  } finally {
    clearInterval(timer);
  }
}
