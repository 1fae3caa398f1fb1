// Leader election by a Postgres session advisory lock, for the background workers that
// must run on one control-plane instance at a time (move executor, SLO gates, replica
// health). The lock lives on a dedicated connection: when the leader dies its session
// ends and the lock is free, so another instance takes over on its next acquire().
//
// Leadership is dropped the moment the connection reports 'error' or 'end' (pg emits
// them when the server terminates the session or the socket breaks), and stillLeader()
// asks the server before an action that another leader must not race.
import pg from 'pg';
import type { Logger } from '../logger.js';

export interface LeaderLockOptions {
  databaseUrl: string;
  /** pg_try_advisory_lock key (bigint); distinct for every worker. */
  key: bigint | number;
  /** The lock session's application_name, e.g. 'orgplane-move-executor' (seen in pg_stat_activity). */
  applicationName: string;
  log: Logger;
  /** Connecting, and each query on the lock session, give up after this long (default 5 s). */
  timeoutMs?: number;
  /** Runs on the lock session right after leadership is taken (say, LISTEN); a throw gives it back. */
  onAcquired?: (client: pg.Client) => Promise<void>;
  /** Leadership was lost (connection error or end, or a failed re-check); not called by release(). */
  onLost?: (err: Error) => void;
}

const DEFAULT_TIMEOUT_MS = 5000;

export class LeaderLock {
  private client: pg.Client | null = null;
  private leader = false;
  private released = false;
  private readonly timeoutMs: number;

  constructor(private readonly options: LeaderLockOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** True while this instance holds the lock, as far as the connection has told us. */
  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * Take the lock unless this instance holds it already; true when it does now. A
   * follower keeps its session open and asks again on the next call. Never throws:
   * a connection problem is logged and answers false.
   */
  async acquire(): Promise<boolean> {
    if (this.released) return false;
    if (this.leader) return true;
    try {
      const client = this.client ?? (await this.connect());
      if (client === null) return false;
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
        this.options.key.toString(),
      ]);
      // The session may have ended while the query ran, or release() came in between.
      if (!rows[0]?.locked || this.client !== client) return false;
      if (this.released) {
        await this.endSession(client);
        return false;
      }
      this.leader = true;
      try {
        await this.options.onAcquired?.(client);
      } catch (err) {
        this.options.log.warn({ err }, `${this.options.applicationName}: setting up the lock session failed; giving the lock back`);
        await this.endSession(client);
        return false;
      }
      return this.leader;
    } catch (err) {
      this.options.log.warn({ err }, `${this.options.applicationName}: cannot take the leader lock; retrying later`);
      if (this.client) await this.endSession(this.client);
      return false;
    }
  }

  /**
   * Re-check with the server before an action another leader must not race: true when the
   * lock session still answers (a session lock lives as long as its session). A session
   * that fails or does not answer within timeoutMs counts as lost, and is ended.
   */
  async stillLeader(): Promise<boolean> {
    const client = this.client;
    if (!this.leader || client === null) return false;
    try {
      await client.query('SELECT 1');
    } catch (err) {
      this.lost(client, err as Error);
      return false;
    }
    return this.leader && this.client === client;
  }

  /** Give the lock up for good (ending the session releases it). */
  async release(): Promise<void> {
    this.released = true;
    this.leader = false;
    if (this.client) await this.endSession(this.client);
  }

  private async connect(): Promise<pg.Client | null> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: this.options.applicationName,
      connectionTimeoutMillis: this.timeoutMs,
      query_timeout: this.timeoutMs,
      keepAlive: true,
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('the lock connection ended')));
    this.client = client;
    try {
      await client.connect();
    } catch (err) {
      await this.endSession(client);
      throw err;
    }
    return this.client === client ? client : null;
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    const wasLeader = this.leader;
    this.client = null;
    this.leader = false;
    void client.end().catch(() => {});
    if (!wasLeader) return;
    if (!this.released) this.options.log.warn({ err }, `${this.options.applicationName}: lost the leader lock; stopping work here`);
    this.options.onLost?.(err);
  }

  private async endSession(client: pg.Client): Promise<void> {
    if (this.client === client) {
      this.client = null;
      this.leader = false;
    }
    client.removeAllListeners('end');
    // An error after this point belongs to a session we are throwing away.
    client.removeAllListeners('error');
    client.on('error', () => {});
    await client.end().catch(() => {});
  }
}
