// Where pilot selection reads the population from: every org with a size measure and
// its last activity. Sources hand out columnar batches (10 million orgs as objects
// would cost seconds of allocation), read from Postgres with COPY ... TO STDOUT.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** One row per org. */
export interface OrgStats {
  orgId: number;
  /** A size measure in rows (see TenantOrgStatsSource for which rows). */
  sizeRows: number;
  lastActiveAt: Date;
}

/** `length` rows in the first `length` slots of each array; reused after onBatch returns. */
export interface OrgStatsBatch {
  length: number;
  orgIds: Float64Array;
  sizeRows: Float64Array;
  lastActiveAtMs: Float64Array;
}

export interface OrgStatsSource {
  /** Calls `onBatch` for every org, in any order, each org once. */
  scan(onBatch: (batch: OrgStatsBatch) => void): Promise<void>;
}

const BATCH = 8192;

function newBatch(): OrgStatsBatch {
  return { length: 0, orgIds: new Float64Array(BATCH), sizeRows: new Float64Array(BATCH), lastActiveAtMs: new Float64Array(BATCH) };
}

/** A fixed list of orgs (tests, and callers that already hold the stats). */
export class ArrayOrgStatsSource implements OrgStatsSource {
  constructor(private readonly orgs: readonly OrgStats[]) {}

  async scan(onBatch: (batch: OrgStatsBatch) => void): Promise<void> {
    const batch = newBatch();
    for (const org of this.orgs) {
      batch.orgIds[batch.length] = org.orgId;
      batch.sizeRows[batch.length] = org.sizeRows;
      batch.lastActiveAtMs[batch.length] = org.lastActiveAt.getTime();
      if (++batch.length === BATCH) {
        onBatch(batch);
        batch.length = 0;
      }
    }
    if (batch.length > 0) onBatch(batch);
  }
}

/**
 * Run `COPY (<select>) TO STDOUT` where the select yields three integer columns
 * (org_id, size_rows, last_active_at in epoch milliseconds) and feed them to onBatch.
 * The text format is parsed byte by byte: no string per row.
 */
export async function copyOrgStats(client: pg.ClientBase, select: string, onBatch: (batch: OrgStatsBatch) => void): Promise<void> {
  const batch = newBatch();
  const columns = [batch.orgIds, batch.sizeRows, batch.lastActiveAtMs];
  let column = 0;
  let value = 0;
  let negative = false;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        for (let i = 0; i < chunk.length; i++) {
          const c = chunk[i]!;
          if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
          else if (c === 9 || c === 10) {
            if (column > 2) throw new Error('COPY row has more than three columns');
            columns[column]![batch.length] = negative ? -value : value;
            value = 0;
            negative = false;
            if (c === 9) column++;
            else {
              if (column !== 2) throw new Error('COPY row has fewer than three columns');
              column = 0;
              if (++batch.length === BATCH) {
                onBatch(batch);
                batch.length = 0;
              }
            }
          } else if (c === 45) negative = true;
          else throw new Error(`COPY row holds a non-integer byte ${c} (a NULL?)`);
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    final(done) {
      if (batch.length > 0) onBatch(batch);
      batch.length = 0;
      done();
    },
  });
  await pipeline(client.query(copyTo(`COPY (${select}) TO STDOUT`)), sink);
}
