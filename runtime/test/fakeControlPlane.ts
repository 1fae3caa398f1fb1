// A small node:http server speaking the config protocol of wire.ts, for the runtime's
// tests. It is our own protocol; the real control plane has its own tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { COMPACT_MEDIA_TYPE, encodeCompact, pinsFromPlacements } from '../src/compactSnapshot.js';
import type { ConfigDelta, ConfigSnapshot, WireCluster, WireCohort, WirePlacement, WireRange, WireRollout } from '../src/wire.js';

/** What a FakeControlPlane starts with. */
export interface FakeControlPlaneState {
  version: number;
  clusters: WireCluster[];
  ranges: WireRange[];
  placements?: WirePlacement[];
  rollouts?: WireRollout[];
  cohorts?: WireCohort[];
}

export const TOKEN = 'op_test_sdkread';

export interface WatchRequest {
  since: string | null;
  authorization: string | undefined;
}

export class FakeControlPlane {
  version: number;
  clusters: WireCluster[];
  ranges: WireRange[];
  placements = new Map<number, WirePlacement>();
  rollouts: WireRollout[];
  cohorts = new Map<string, WireCohort>();
  /** How many times `GET /v1/config` was answered. */
  configRequests = 0;
  /** Every committed change, by version. */
  readonly history = new Map<number, ConfigDelta>();
  readonly watchRequests: WatchRequest[] = [];
  /** Answer watch requests with this status instead of a stream (e.g. 401, 503). */
  refuseWith: number | undefined;
  /** How many more watch requests get `refuseWith`; undefined = all of them. */
  refuseCount: number | undefined;
  /** Retry-After sent with `refuseWith` (seconds). */
  retryAfter = '0';
  /** Answer `format=compact` watchers with a `compact-snapshot` event (a control plane that speaks it). */
  compactSnapshots = false;
  /** Replaces the bytes of the next compact snapshot sent (corruption tests). */
  mangleCompact: ((bytes: Uint8Array) => Uint8Array) | undefined;
  /** Every snapshot event sent, by kind. */
  readonly snapshotsSent: ('json' | 'compact')[] = [];
  private readonly streams = new Set<ServerResponse>();
  private server: Server | undefined;
  private port = 0;

  constructor(initial: FakeControlPlaneState) {
    this.version = initial.version;
    this.clusters = initial.clusters;
    this.ranges = initial.ranges;
    this.rollouts = initial.rollouts ?? [];
    for (const p of initial.placements ?? []) this.placements.set(p.orgId, p);
    for (const c of initial.cohorts ?? []) this.cohorts.set(c.name, c);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on `port` (0: any free one; a fixed one to come back after stop()). */
  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.closeStreams();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  snapshot(): ConfigSnapshot {
    return {
      version: this.version,
      generatedAt: new Date().toISOString(),
      clusters: this.clusters,
      ranges: this.ranges,
      placements: [...this.placements.values()],
      replicas: [],
      rollouts: this.rollouts,
      cohorts: [...this.cohorts.values()],
    };
  }

  /** Applies a change, bumps the version, and (unless `silently`) sends it to every watcher. */
  commit(change: Omit<ConfigDelta, 'version'>, options: { silently?: boolean } = {}): ConfigDelta {
    const delta: ConfigDelta = { ...change, version: this.version + 1 };
    if (delta.clusters) this.clusters = delta.clusters;
    if (delta.ranges) this.ranges = delta.ranges;
    for (const orgId of delta.placements?.remove ?? []) this.placements.delete(orgId);
    for (const p of delta.placements?.upsert ?? []) this.placements.set(p.orgId, p);
    if (delta.rollouts) this.rollouts = delta.rollouts;
    for (const name of delta.cohorts?.remove ?? []) this.cohorts.delete(name);
    for (const c of delta.cohorts?.upsert ?? []) this.cohorts.set(c.name, c);
    this.version = delta.version;
    this.history.set(delta.version, delta);
    if (!options.silently) this.broadcast('change', delta, delta.version);
    return delta;
  }

  heartbeat(version = this.version): void {
    this.broadcast('heartbeat', { version, time: new Date().toISOString() });
  }

  /** Sends an event whose data is written as is (not JSON). */
  broadcastRaw(event: string, data: string): void {
    for (const res of this.streams) res.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  /** The current config in the compact encoding. */
  compactSnapshot(): Uint8Array {
    const snapshot = this.snapshot();
    return encodeCompact(snapshot, pinsFromPlacements(snapshot.placements));
  }

  /** Sends an arbitrary event, e.g. one with a wrong version. */
  broadcast(event: string, data: unknown, id?: number): void {
    const text = `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.streams) res.write(text);
  }

  closeStreams(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  get openStreams(): number {
    return this.streams.size;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'no' } }));
      if (url.pathname === '/v1/config/watch')
        this.watchRequests.push({ since: url.searchParams.get('since'), authorization: req.headers.authorization });
      return;
    }
    if (url.pathname === '/v1/config') {
      this.configRequests++;
      if (this.compactSnapshots && String(req.headers.accept).includes(COMPACT_MEDIA_TYPE)) {
        const bytes = this.mangleCompact ? this.mangleCompact(this.compactSnapshot()) : this.compactSnapshot();
        this.mangleCompact = undefined;
        this.snapshotsSent.push('compact');
        const gzip = String(req.headers['accept-encoding']).includes('gzip');
        res
          .writeHead(200, { 'content-type': COMPACT_MEDIA_TYPE, ...(gzip ? { 'content-encoding': 'gzip' } : {}) })
          .end(gzip ? gzipSync(bytes) : bytes);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag: `"${this.version}"` }).end(JSON.stringify(this.snapshot()));
      return;
    }
    if (url.pathname !== '/v1/config/watch') {
      res.writeHead(404).end();
      return;
    }
    const since = url.searchParams.get('since');
    this.watchRequests.push({ since, authorization: req.headers.authorization });
    if (this.refuseWith !== undefined && (this.refuseCount === undefined || this.refuseCount > 0)) {
      if (this.refuseCount !== undefined) this.refuseCount--;
      res
        .writeHead(this.refuseWith, { 'content-type': 'application/json', 'retry-after': this.retryAfter })
        .end('{"error":{"code":"X","message":"refused"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    const from = since === null ? Number.NaN : Number(since);
    const canReplay = Number.isSafeInteger(from) && from <= this.version && (from === this.version || this.history.has(from + 1));
    if (!canReplay) {
      if (this.compactSnapshots && url.searchParams.get('format') === 'compact') {
        const bytes = this.mangleCompact ? this.mangleCompact(this.compactSnapshot()) : this.compactSnapshot();
        this.mangleCompact = undefined;
        this.snapshotsSent.push('compact');
        res.write(`event: compact-snapshot\ndata: ${gzipSync(bytes).toString('base64')}\n\n`);
      } else {
        this.snapshotsSent.push('json');
        res.write(`event: snapshot\ndata: ${JSON.stringify(this.snapshot())}\n\n`);
      }
      return;
    }
    for (let v = from + 1; v <= this.version; v++) {
      res.write(`id: ${v}\nevent: change\ndata: ${JSON.stringify(this.history.get(v))}\n\n`);
    }
  }
}
