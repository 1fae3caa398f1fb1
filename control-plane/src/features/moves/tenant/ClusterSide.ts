// Connections to one side of a move. Every mover session runs with the same output
// settings on both clusters, so row texts (and so checksums) compare; the sessions that
// write the moved rows run with session_replication_role = replica, so neither the
// capture trigger nor foreign-key checks fire for the mover's own copy and replay.
//
// Production grant for a non-superuser mover role (Postgres 15+):
//   GRANT SET ON PARAMETER session_replication_role TO orgplane_mover;
import pg from 'pg';
import type { Logger } from '../../../logger.js';

/** Sessions with this name are the mover's: startCapture does not wait for them. */
export const MOVER_APPLICATION_NAME = 'orgplane-mover';

const OUTPUT_SETTINGS = ['TimeZone=UTC', 'DateStyle=ISO,YMD', 'IntervalStyle=postgres', 'extra_float_digits=1', 'bytea_output=hex'];
// The mover joins a few keys against an org's rows (replay, key checks): always by
// index, one key at a time. A hash or merge join would scan every partition of a big
// org, and the fence would grow with the org. No mover query needs either.
const PLANNER_SETTINGS = ['enable_hashjoin=off', 'enable_mergejoin=off'];
// The mover records what it did in another database (a table's copied_at in the control
// DB, the change-log entries it consumed on the other side) right after a commit here:
// that commit must survive a crash of this server. On a cluster running with
// synchronous_commit = off, a copy committed a moment before a crash was lost while the
// control DB said the table was copied, and the move could only fail its verification.
// 'on' is Postgres's default; this only keeps a cluster-wide 'off' from reaching the mover.
const DURABILITY_SETTINGS = ['synchronous_commit=on'];

export type SideName = 'source' | 'target';

function clientConfig(url: string, replica: boolean): pg.ClientConfig {
  const settings = [
    ...OUTPUT_SETTINGS,
    ...PLANNER_SETTINGS,
    ...DURABILITY_SETTINGS,
    ...(replica ? ['session_replication_role=replica'] : []),
  ];
  return {
    connectionString: url,
    application_name: MOVER_APPLICATION_NAME,
    options: settings.map((s) => `-c ${s}`).join(' '),
  };
}

export class ClusterSide {
  /** Ordinary sessions: reads, markers, consuming the change log. */
  readonly pool: pg.Pool;
  /** Replica-role sessions: writes of the org's rows. */
  readonly replicaPool: pg.Pool;
  /** Sessions of their own, and whether each is a replica-role one. */
  private readonly dedicated = new Map<pg.Client, boolean>();
  /** A clean session per role, kept by `recycle` for the next `connect`. */
  private readonly spare = new Map<boolean, pg.Client>();
  private ended = false;

  constructor(
    readonly name: SideName,
    private readonly url: string,
    private readonly log: Logger,
  ) {
    this.pool = this.makePool(false);
    this.replicaPool = this.makePool(true);
  }

  private makePool(replica: boolean): pg.Pool {
    const pool = new pg.Pool({ ...clientConfig(this.url, replica), max: 3, idleTimeoutMillis: 10_000 });
    // An idle session killed by the server must not crash the process; the pool drops it.
    pool.on('error', (err) => this.log.warn({ side: this.name, code: (err as { code?: string }).code }, 'mover session lost'));
    return pool;
  }

  /** A session of its own (the fence's advisory lock, a COPY stream); end it with `drop`, or `recycle` it. */
  async connect(replica: boolean): Promise<pg.Client> {
    const spare = this.spare.get(replica);
    if (spare) {
      this.spare.delete(replica);
      return spare;
    }
    const client = new pg.Client(clientConfig(this.url, replica));
    client.on('error', (err) => this.log.warn({ side: this.name, code: (err as { code?: string }).code }, 'mover session lost'));
    // A spare session the server ended (a restart, a terminate) is not handed out again.
    client.on('end', () => {
      if (this.spare.get(replica) === client) this.spare.delete(replica);
      this.dedicated.delete(client);
    });
    await client.connect();
    this.dedicated.set(client, replica);
    return client;
  }

  async drop(client: pg.Client): Promise<void> {
    this.dedicated.delete(client);
    await client.end().catch(() => {});
  }

  /**
   * Keep a session that finished its work cleanly (no transaction open, no lock held,
   * nothing set beyond its connection settings) for the next `connect` of its role,
   * instead of ending it. A small org's move copies seven tables of a few rows each:
   * two new sessions per table (a backend forked, a password checked) took longer than
   * the copies. One spare per role; anything else is dropped.
   */
  async recycle(client: pg.Client): Promise<void> {
    const replica = this.dedicated.get(client);
    if (this.ended || replica === undefined || this.spare.has(replica)) return this.drop(client);
    this.spare.set(replica, client);
  }

  async end(): Promise<void> {
    this.ended = true;
    this.spare.clear();
    await Promise.all([...this.dedicated.keys()].map((c) => this.drop(c)));
    await Promise.all([this.pool.end(), this.replicaPool.end()]);
  }
}
