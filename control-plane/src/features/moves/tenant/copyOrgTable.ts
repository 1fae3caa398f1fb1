// Bulk copy of one org's rows of one table: a binary COPY out of the source piped into
// a binary COPY into the target, in one target transaction that first removes what an
// earlier, interrupted attempt left. No per-row work happens in this process: the
// streams move COPY data chunks, and backpressure comes from stream.pipeline.
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { ClusterSide } from './ClusterSide.js';
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
  source: ClusterSide;
  target: ClusterSide;
  table: TableInfo;
  orgId: number;
  onProgress: (p: CopyProgress) => void;
}

export async function copyOrgTable({ source, target, table, orgId, onProgress }: CopyOptions): Promise<TableCopyResult> {
  if (!Number.isSafeInteger(orgId)) throw new Error(`org id ${orgId} is not an integer`);
  const from = await source.connect(false);
  let to: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  const listening: Array<() => void> = [];
  let clean = false;
  try {
    to = await target.connect(true);
    const { rows: pidRows } = await to.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const targetPid = pidRows[0]?.pid;
    await to.query('BEGIN');
    await to.query(`DELETE FROM ${table.qname} WHERE org_id = $1`, [orgId]);
    await from.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The snapshot is taken by this first statement and used by the COPY below.
    const { rows: atRows } = await from.query<{ at: Date }>('SELECT now() AS at');
    const copiedAt = atRows[0]?.at ?? new Date();

    // COPY takes no parameters; the org id is a checked integer.
    const out = from.query(
      copyTo(`COPY (SELECT ${table.columnList()} FROM ${table.qname} WHERE org_id = ${orgId}) TO STDOUT (FORMAT binary)`, {
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
    watch(from, 'source');
    watch(to, 'target');
    let bytes = 0;
    let rows = 0;
    out.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    // Rows so far, from the target's COPY progress (a count the server keeps anyway).
    timer = setInterval(() => {
      target.pool
        .query<{ n: string }>('SELECT tuples_processed AS n FROM pg_stat_progress_copy WHERE pid = $1', [targetPid])
        .then(({ rows: r }) => {
          if (r[0]) rows = Math.max(rows, Number(r[0].n));
          onProgress({ table: table.name, rows, bytes });
        })
        .catch(() => {});
    }, PROGRESS_EVERY_MS);
    await pipeline(out, into);
    clearInterval(timer);
    timer = undefined;
    rows = into.rowCount;
    await to.query('COMMIT');
    await from.query('COMMIT');
    // Fresh statistics, so the replay's key lookups are planned for the rows just added.
    if (rows >= ANALYZE_MIN_ROWS) await to.query(`ANALYZE ${table.qname}`);
    onProgress({ table: table.name, rows, bytes });
    clean = true;
    return { table: table.name, rows, bytes, copiedAt };
  } finally {
    if (timer) clearInterval(timer);
    for (const stop of listening) stop();
    // Ending the sessions rolls back whatever an error left open; after a copy that
    // committed, they serve the next table's copy.
    await (clean ? source.recycle(from) : source.drop(from));
    if (to) await (clean ? target.recycle(to) : target.drop(to));
  }
}
