// One per instance: a dedicated LISTEN connection on `orgplane_config`. On a
// notification it reads the new config_changes rows once and fans them out to every
// watcher of this instance. It keeps the last deltas in memory so a reconnecting
// watcher resumes without a snapshot; when its LISTEN connection drops it reconnects
// with backoff and reads everything it missed, so no version is ever skipped.
import { backoffMs } from '@orgplane/kit';
import type { ConfigDelta, WatchEventName, WatchHeartbeat } from '@orgplane/runtime/wire';
import pg from 'pg';
import type { Logger } from '../../logger.js';
import { CONFIG_CHANNEL, type ConfigLogStore, type StoredChange } from './ConfigLogStore.js';

/** Where a watcher's events go (an SSE response, in practice). */
export interface WatchSink {
  /** False when the sink cannot keep up; the hub then drops it. */
  send(event: WatchEventName, data: unknown, id?: number): boolean;
  close(): void;
}

export interface ConfigHubOptions {
  /** For the LISTEN connection (the pool's connections come and go). */
  databaseUrl: string;
  log: Logger;
  changes: ConfigLogStore;
  /** The snapshot at the current version: what the sink writes as the `snapshot` event (cached per version). */
  loadSnapshot: () => Promise<{ version: number }>;
  heartbeatMs: number;
  /** Deltas kept in memory; a watcher further behind gets a snapshot. */
  maxBufferedDeltas?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Called for each delta learned from a notification, with its age by the DB clock. */
  onDelta?: (lagSeconds: number) => void;
}

interface Watcher {
  sink: WatchSink;
  /** The last version this watcher has: every later delta goes out in order. */
  version: number;
  /** While its snapshot loads, deltas wait here. */
  pending: ConfigDelta[] | null;
}

const PAGE = 500;

export class ConfigHub {
  private readonly opts: Required<Omit<ConfigHubOptions, 'onDelta'>> & Pick<ConfigHubOptions, 'onDelta'>;
  private readonly watchers = new Set<Watcher>();
  private buffer: ConfigDelta[] = [];
  private lastVersion = -1;
  private client: pg.Client | null = null;
  private started = false;
  private closed = false;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private reconnectAttempts = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(options: ConfigHubOptions) {
    this.opts = { maxBufferedDeltas: 1000, reconnectMinMs: 100, reconnectMaxMs: 5000, ...options };
  }

  /** The newest version this instance has fanned out. */
  get version(): number {
    return this.lastVersion;
  }

  get connected(): boolean {
    return this.client !== null;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** LISTEN, then load the recent deltas. Throws if the DB cannot be reached at all. */
  async start(): Promise<void> {
    await this.connect();
    try {
      const recent = await this.opts.changes.recent(this.opts.maxBufferedDeltas);
      this.buffer = recent.changes.map((c) => c.delta);
      this.lastVersion = recent.version;
    } catch (err) {
      await this.close();
      throw err;
    }
    this.started = true;
    this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs);
    this.heartbeat.unref();
    // A notification may have arrived between LISTEN and the read above.
    this.requestSync();
  }

  /**
   * Follow changes after `since`. A watcher this hub can serve from memory gets the
   * missed deltas; one with no version, ahead of us, or too far behind gets a snapshot.
   * Returns the function that stops watching.
   */
  watch(since: number | null, sink: WatchSink): () => void {
    const watcher: Watcher = { sink, version: -1, pending: null };
    this.watchers.add(watcher);
    if (since !== null && this.canResume(since)) {
      watcher.version = since;
      for (const delta of this.buffer) if (delta.version > since) this.deliver(watcher, delta);
    } else if (since !== null && this.started && since > this.lastVersion) {
      this.resumeAhead(watcher, since);
    } else {
      this.resync(watcher);
    }
    return () => {
      this.watchers.delete(watcher);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const watcher of this.watchers) watcher.sink.close();
    this.watchers.clear();
    const client = this.client;
    this.client = null;
    await Promise.all([client?.end().catch(() => {}), this.syncing]);
  }

  /** True when a watcher starting at `since` would be sent a whole snapshot (the route bounds those). */
  needsSnapshot(since: number | null): boolean {
    return since === null || !(this.canResume(since) || (this.started && since > this.lastVersion));
  }

  private canResume(since: number): boolean {
    if (!this.started || since > this.lastVersion) return false;
    if (since === this.lastVersion) return true;
    const oldest = this.buffer[0]?.version;
    return this.lastVersion - since <= this.opts.maxBufferedDeltas && oldest !== undefined && oldest <= since + 1;
  }

  /**
   * A client may know a version this instance has not read yet (another instance
   * answered its change a moment ago). If the DB has it, wait for it here instead of
   * sending a whole snapshot; if not, the client is ahead of the DB and starts over.
   */
  private resumeAhead(watcher: Watcher, since: number): void {
    watcher.pending = [];
    this.opts.changes.currentVersion().then(
      (current) => {
        if (!this.watchers.has(watcher)) return;
        if (since > current) {
          this.resync(watcher);
          return;
        }
        this.release(watcher, since);
      },
      (err: unknown) => {
        this.opts.log.warn({ err }, 'config watch: could not read the config version; closing the stream so the client retries');
        this.drop(watcher);
      },
    );
  }

  private resync(watcher: Watcher): void {
    watcher.pending = [];
    this.opts.loadSnapshot().then(
      (snapshot) => {
        if (!this.watchers.has(watcher)) return;
        if (!watcher.sink.send('snapshot', snapshot)) {
          this.drop(watcher);
          return;
        }
        this.release(watcher, snapshot.version);
      },
      (err: unknown) => {
        this.opts.log.warn({ err }, 'config watch: could not load a snapshot; closing the stream so the client retries');
        this.drop(watcher);
      },
    );
  }

  /** The watcher is at `version`: send what queued up meanwhile (deliver skips what it has). */
  private release(watcher: Watcher, version: number): void {
    watcher.version = version;
    const queued = watcher.pending ?? [];
    watcher.pending = null;
    for (const delta of queued) this.deliver(watcher, delta);
  }

  private deliver(watcher: Watcher, delta: ConfigDelta): void {
    if (watcher.pending) {
      watcher.pending.push(delta);
      return;
    }
    if (delta.version <= watcher.version) return;
    // Never let a watcher skip a version: if one is missing, start it over.
    if (delta.version !== watcher.version + 1) {
      this.resync(watcher);
    } else if (watcher.sink.send('change', delta, delta.version)) {
      watcher.version = delta.version;
    } else {
      this.drop(watcher);
    }
  }

  private drop(watcher: Watcher): void {
    this.watchers.delete(watcher);
    watcher.sink.close();
  }

  private beat(): void {
    const time = new Date().toISOString();
    for (const watcher of this.watchers) {
      if (watcher.pending) continue;
      const heartbeat: WatchHeartbeat = { version: watcher.version, time };
      if (!watcher.sink.send('heartbeat', heartbeat)) this.drop(watcher);
    }
  }

  private publish(change: StoredChange): void {
    const delta = change.delta;
    if (delta.version <= this.lastVersion) return;
    if (delta.version !== this.lastVersion + 1) {
      this.opts.log.error({ from: this.lastVersion, to: delta.version }, 'config hub: versions are missing from config_changes');
    }
    this.lastVersion = delta.version;
    this.buffer.push(delta);
    if (this.buffer.length > this.opts.maxBufferedDeltas) this.buffer.splice(0, this.buffer.length - this.opts.maxBufferedDeltas);
    this.opts.onDelta?.(change.lagSeconds);
    for (const watcher of this.watchers) this.deliver(watcher, delta);
  }

  /** Read every change after the last one we have; coalesces concurrent requests. */
  private requestSync(): void {
    if (!this.started || this.closed) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = this.sync().finally(() => {
      this.syncing = null;
    });
  }

  private async sync(): Promise<void> {
    do {
      this.syncAgain = false;
      try {
        for (;;) {
          const changes = await this.opts.changes.changesAfter(this.lastVersion, PAGE);
          if (this.closed) return;
          for (const change of changes) this.publish(change);
          if (changes.length < PAGE) break;
        }
      } catch (err) {
        if (this.closed) return;
        this.opts.log.warn({ err }, 'config hub: reading config_changes failed; retrying');
        this.later(() => this.requestSync(), this.backoffMs(1));
        return;
      }
    } while (this.syncAgain && !this.closed);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, application_name: 'orgplane-config-hub' });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      if (message.channel !== CONFIG_CHANNEL) return;
      // The payload is the new version; skip the read when we already have it.
      if (Number(message.payload) > this.lastVersion || !Number.isFinite(Number(message.payload))) this.requestSync();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CONFIG_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client, err?: Error): void {
    if (client !== this.client || this.closed) return;
    this.client = null;
    this.opts.log.warn({ err }, 'config hub: LISTEN connection lost; reconnecting');
    client.end().catch(() => {});
    this.reconnect();
  }

  private reconnect(): void {
    this.reconnectAttempts += 1;
    this.later(async () => {
      try {
        await this.connect();
      } catch (err) {
        if (this.closed) return;
        this.opts.log.warn({ err, attempt: this.reconnectAttempts }, 'config hub: reconnect failed');
        this.reconnect();
        return;
      }
      if (this.closed) return;
      this.opts.log.info({ attempts: this.reconnectAttempts }, 'config hub: LISTEN connection restored; catching up');
      this.reconnectAttempts = 0;
      // Anything committed while we were not listening is in config_changes.
      this.requestSync();
    }, this.backoffMs(this.reconnectAttempts));
  }

  /** Attempt 1 waits below reconnectMinMs, each later one below twice as long, up to reconnectMaxMs. */
  private backoffMs(attempt: number): number {
    return backoffMs(attempt - 1, { baseMs: this.opts.reconnectMinMs, capMs: this.opts.reconnectMaxMs, jitter: 'equal' });
  }

  private later(fn: () => unknown, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) void fn();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }
}
