// Follows `GET /v1/config/watch` (server-sent events) and hands every snapshot and change
// to its owner, in version order. Reconnects with exponential backoff and full jitter;
// a gap in versions or a silent stream makes it reconnect from the last applied version;
// 401/403 stops it for good. It never throws: problems go to `handlers.error`.

import { gunzipSync } from 'node:zlib';
import { backoffMs, sleep } from '@orgplane/kit';
import { COMPACT_MEDIA_TYPE, type CompactConfig, CorruptSnapshotError, decodeCompact } from './compactSnapshot.js';
import { RuntimeError } from './errors.js';
import { type SseEvent, SseParser } from './sseParser.js';
import type { ConfigDelta, ConfigSnapshot, WatchHeartbeat } from './wire.js';

export interface ConfigClientOptions {
  /** Control-plane base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  token: string;
  fetch?: typeof fetch;
  /** No event or heartbeat for this long -> reconnect. The server beats at least every 15 s. */
  heartbeatTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** [0, 1) source for the backoff jitter. */
  random?: () => number;
}

export interface ConfigClientHandlers {
  /** Version currently applied, or null when there is none (the server then sends a snapshot). */
  version(): number | null;
  /** Applies a snapshot (and a compact one's pin columns); throws when it is invalid (nothing must change then). */
  applySnapshot(snapshot: ConfigSnapshot, pins?: CompactConfig['pins']): void;
  /** Applies the change to version + 1; throws when it is invalid (nothing must change then). */
  applyDelta(delta: ConfigDelta): void;
  /** The server just confirmed that the applied version is its latest. */
  current(): void;
  connected(): void;
  disconnected(reason: string): void;
  /** About to wait `delayMs` and connect again. */
  reconnecting(delayMs: number): void;
  error(error: RuntimeError): void;
}

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 45_000;
export const DEFAULT_BACKOFF_BASE_MS = 100;
export const DEFAULT_BACKOFF_CAP_MS = 30_000;
/** A compact snapshot larger than this once gunzipped is refused (a gzip bomb, not a config). */
const MAX_SNAPSHOT_BYTES = 1 << 30;

interface Outcome {
  reason: string;
  /** Stop for good (auth failure or stop()). */
  final?: boolean;
  /** Server asked for at least this long (429/503 Retry-After). */
  retryAfterMs?: number;
}

export class ConfigClient {
  private readonly fetchFn: typeof fetch;
  private readonly heartbeatTimeoutMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly random: () => number;
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private abortController: AbortController | undefined;
  /** Wakes the backoff sleep when stop() is called. */
  private readonly stopping = new AbortController();
  private attempt = 0;
  /** Set while handling a stream: why we are dropping it, if we are. */
  private dropReason: string | undefined;
  /** Next connection asks for a snapshot (after a change we could not apply). */
  private wantSnapshot = false;
  /** A version a heartbeat announced before we had it; still missing at the next beat = gap. */
  private announcedVersion: number | undefined;

  constructor(
    private readonly options: ConfigClientOptions,
    private readonly handlers: ConfigClientHandlers,
  ) {
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    this.backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.backoffCapMs = options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    if (this.loopDone || this.stopped) return;
    this.loopDone = this.loop();
  }

  /** Ends the stream and the retry loop; resolves once nothing is running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abortController?.abort();
    this.stopping.abort();
    await this.loopDone;
  }

  /**
   * `GET /v1/config` once, asking for the compact encoding (JSON from a control plane that
   * does not speak it), gzip or br: what a writer refused with OPF02 refreshes from.
   * Throws a RuntimeError after at most `timeoutMs`: NETWORK_ERROR, HTTP_ERROR,
   * PROTOCOL_ERROR, or SNAPSHOT_CORRUPT (CorruptSnapshotError) for a compact body that is
   * truncated or damaged.
   */
  async fetchConfig(timeoutMs: number): Promise<{ snapshot: ConfigSnapshot; pins?: CompactConfig['pins'] }> {
    const url = `${this.options.url.replace(/\/+$/, '')}/v1/config`;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let bytes: Uint8Array;
    try {
      response = await this.fetchFn(url, {
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: `${COMPACT_MEDIA_TYPE}, application/json;q=0.5`,
          'accept-encoding': 'br, gzip',
        },
        signal,
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        throw new RuntimeError('HTTP_ERROR', `config fetch: the control plane answered ${response.status}`, { status: response.status });
      }
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      if (cause instanceof RuntimeError) throw cause;
      const what = signal.aborted ? `no answer within ${timeoutMs} ms` : messageOf(cause);
      throw new RuntimeError('NETWORK_ERROR', `config fetch: cannot get ${url}: ${what}`, { cause });
    }
    const type = (response.headers.get('content-type') ?? '').toLowerCase();
    if (type.startsWith(COMPACT_MEDIA_TYPE)) return decodeCompact(bytes);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch (cause) {
      throw new RuntimeError('PROTOCOL_ERROR', 'config fetch: the answer is neither compact nor JSON', { cause });
    }
    if (!isVersion((body as ConfigSnapshot | null)?.version)) {
      throw new RuntimeError('PROTOCOL_ERROR', 'config fetch: the answer is not a config snapshot');
    }
    return { snapshot: body as ConfigSnapshot };
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const outcome = await this.connectOnce();
      if (this.stopped || outcome.final) return;
      // After a 503 (a reconnect storm) wait Retry-After plus up to as long again, so the
      // fleet does not come back in one wave.
      const retryAfter = outcome.retryAfterMs;
      const floorMs =
        retryAfter === undefined ? 0 : retryAfter + backoffMs(0, { baseMs: retryAfter, capMs: retryAfter, random: this.random });
      const delayMs = Math.min(
        this.backoffCapMs,
        Math.max(backoffMs(this.attempt, { baseMs: this.backoffBaseMs, capMs: this.backoffCapMs, random: this.random }), floorMs),
      );
      // A server that names a wait is pacing the fleet: growing the backoff on top of it
      // would leave runtimes idle long after it has room again.
      if (!(retryAfter !== undefined && retryAfter > 0)) this.attempt++;
      this.safely(() => this.handlers.reconnecting(delayMs));
      await sleep(delayMs, { signal: this.stopping.signal, unref: true });
    }
  }

  private async connectOnce(): Promise<Outcome> {
    const controller = new AbortController();
    this.abortController = controller;
    this.dropReason = undefined;
    this.announcedVersion = undefined;
    let response: Response;
    try {
      response = await this.fetchFn(this.watchUrl(), {
        headers: { authorization: `Bearer ${this.options.token}`, accept: 'text/event-stream', 'cache-control': 'no-cache' },
        signal: controller.signal,
      });
    } catch (cause) {
      if (this.stopped) return { reason: 'closed', final: true };
      this.report(new RuntimeError('NETWORK_ERROR', `config watch: cannot reach ${this.options.url}: ${messageOf(cause)}`, { cause }));
      return { reason: 'network error' };
    }
    const refused = this.refusal(response);
    if (refused) {
      await response.body?.cancel().catch(() => {});
      return refused;
    }
    return this.consume(response, controller);
  }

  /** The outcome when the response is not a usable event stream, else undefined. */
  private refusal(response: Response): Outcome | undefined {
    const status = response.status;
    if (status === 401 || status === 403) {
      this.stopped = true;
      this.report(
        new RuntimeError('AUTH_FAILED', `config watch: the control plane answered ${status}; the runtime stopped following config`, {
          status,
          hint: 'check the token passed to createRuntime and that it has the sdk:read scope',
        }),
      );
      return { reason: `http ${status}`, final: true };
    }
    if (!response.ok) {
      this.report(new RuntimeError('HTTP_ERROR', `config watch: the control plane answered ${status}`, { status }));
      return { reason: `http ${status}`, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
    }
    const type = response.headers.get('content-type') ?? '';
    if (!response.body || !type.toLowerCase().startsWith('text/event-stream')) {
      this.report(new RuntimeError('PROTOCOL_ERROR', `config watch: expected text/event-stream, got ${type || 'no body'}`));
      return { reason: 'not an event stream' };
    }
    return undefined;
  }

  private async consume(response: Response, controller: AbortController): Promise<Outcome> {
    const body = response.body!;
    const reader = body.getReader();
    const watchdog = setTimeout(() => this.drop(controller, 'heartbeat timeout'), this.heartbeatTimeoutMs);
    watchdog.unref();
    const parser = new SseParser((event) => {
      if (this.dropReason === undefined && this.onEvent(event, controller)) watchdog.refresh();
    });
    this.safely(() => this.handlers.connected());
    let reason = 'stream ended';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          parser.end();
          break;
        }
        parser.push(value);
        if (this.dropReason !== undefined) break;
      }
    } catch (cause) {
      if (this.dropReason === undefined && !this.stopped) {
        if (cause instanceof RuntimeError) this.report(cause);
        reason = `stream failed: ${messageOf(cause)}`;
      }
    } finally {
      clearTimeout(watchdog);
      controller.abort();
      reader.cancel().catch(() => {});
    }
    if (this.stopped) reason = 'closed';
    else if (this.dropReason !== undefined) reason = this.dropReason;
    this.safely(() => this.handlers.disconnected(reason));
    return { reason, final: this.stopped };
  }

  /** Handles one event; true when it proved the stream alive and in sync. */
  private onEvent(event: SseEvent, controller: AbortController): boolean {
    if (event.event === 'compact-snapshot') return this.onCompactSnapshot(event.data, controller);
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch (cause) {
      if (event.event === 'snapshot' || event.event === 'change' || event.event === 'heartbeat') {
        this.report(new RuntimeError('PROTOCOL_ERROR', `config watch: ${event.event} event is not JSON`, { cause }));
        this.drop(controller, 'malformed event');
      }
      return false;
    }
    switch (event.event) {
      case 'snapshot':
        return this.onSnapshot(payload as ConfigSnapshot, controller);
      case 'change':
        return this.onChange(payload as ConfigDelta, controller);
      case 'heartbeat':
        return this.onHeartbeat(payload as WatchHeartbeat, controller);
      default:
        return false; // an event a newer server added; ignore it
    }
  }

  private onSnapshot(snapshot: ConfigSnapshot, controller: AbortController): boolean {
    if (!isVersion(snapshot?.version)) return this.protocolError(controller, 'snapshot event without a valid version');
    try {
      this.handlers.applySnapshot(snapshot);
    } catch (cause) {
      this.report(asRuntimeError(cause, `config watch: snapshot ${snapshot.version} could not be applied`));
      this.drop(controller, 'invalid snapshot');
      return false;
    }
    return this.inSync();
  }

  /** `compact-snapshot`: base64 of a gzipped compact snapshot; a damaged one is refused and the config kept. */
  private onCompactSnapshot(data: string, controller: AbortController): boolean {
    let decoded: CompactConfig;
    try {
      decoded = decodeCompact(gunzipEvent(data));
    } catch (cause) {
      this.report(asRuntimeError(cause, 'config watch: compact snapshot could not be decoded'));
      this.drop(controller, 'invalid snapshot');
      return false;
    }
    try {
      this.handlers.applySnapshot(decoded.snapshot, decoded.pins);
    } catch (cause) {
      this.report(asRuntimeError(cause, `config watch: snapshot ${decoded.snapshot.version} could not be applied`));
      this.drop(controller, 'invalid snapshot');
      return false;
    }
    return this.inSync();
  }

  private onChange(delta: ConfigDelta, controller: AbortController): boolean {
    if (!isVersion(delta?.version)) return this.protocolError(controller, 'change event without a valid version');
    const current = this.handlers.version();
    if (current !== null && delta.version <= current) return this.inSync(); // a replay of what we have
    if (current === null || delta.version !== current + 1) {
      this.report(
        new RuntimeError('VERSION_GAP', `config watch: got version ${delta.version} while at ${current ?? 'none'}; resyncing`, {
          hint: 'recoverable: the runtime reconnects from the version it has',
        }),
      );
      this.drop(controller, 'version gap');
      return false;
    }
    try {
      this.handlers.applyDelta(delta);
    } catch (cause) {
      this.report(asRuntimeError(cause, `config watch: change ${delta.version} could not be applied`));
      this.wantSnapshot = true;
      this.drop(controller, 'invalid change');
      return false;
    }
    return this.inSync();
  }

  private onHeartbeat(heartbeat: WatchHeartbeat, controller: AbortController): boolean {
    if (!isVersion(heartbeat?.version)) return this.protocolError(controller, 'heartbeat event without a valid version');
    const current = this.handlers.version();
    if (current !== null && heartbeat.version <= current) {
      this.announcedVersion = undefined;
      return this.inSync();
    }
    // The server is ahead. A change may be racing this beat, so give it until the next one.
    if (this.announcedVersion !== undefined && (current ?? -1) < this.announcedVersion) {
      this.report(
        new RuntimeError(
          'VERSION_GAP',
          `config watch: the server is at ${heartbeat.version}, the runtime at ${current ?? 'none'}; resyncing`,
        ),
      );
      this.drop(controller, 'version gap');
      return false;
    }
    this.announcedVersion = heartbeat.version;
    return true;
  }

  private inSync(): boolean {
    this.attempt = 0;
    this.wantSnapshot = false;
    this.safely(() => this.handlers.current());
    return true;
  }

  private protocolError(controller: AbortController, message: string): false {
    this.report(new RuntimeError('PROTOCOL_ERROR', `config watch: ${message}`));
    this.drop(controller, 'malformed event');
    return false;
  }

  private drop(controller: AbortController, reason: string): void {
    if (this.dropReason !== undefined) return;
    this.dropReason = reason;
    if (reason === 'heartbeat timeout') {
      this.report(new RuntimeError('HEARTBEAT_TIMEOUT', `config watch: nothing received for ${this.heartbeatTimeoutMs} ms; reconnecting`));
    }
    controller.abort();
  }

  private watchUrl(): string {
    const base = this.options.url.replace(/\/+$/, '');
    const version = this.wantSnapshot ? null : this.handlers.version();
    // format=compact: a snapshot comes as a `compact-snapshot` event (compactSnapshot.ts).
    return version === null ? `${base}/v1/config/watch?format=compact` : `${base}/v1/config/watch?since=${version}&format=compact`;
  }

  private report(error: RuntimeError): void {
    this.safely(() => this.handlers.error(error));
  }

  /** Handlers belong to our owner; one throwing must not kill the loop. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // The owner reports its own failures; there is no one else to tell here.
    }
  }
}

/** The bytes of a `compact-snapshot` event; CorruptSnapshotError when they do not gunzip. */
function gunzipEvent(data: string): Uint8Array {
  try {
    return gunzipSync(Buffer.from(data, 'base64'), { maxOutputLength: MAX_SNAPSHOT_BYTES });
  } catch (cause) {
    throw new CorruptSnapshotError(`the compact-snapshot event is not base64 of gzip data: ${messageOf(cause)}`, { cause });
  }
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function asRuntimeError(cause: unknown, message: string): RuntimeError {
  if (cause instanceof RuntimeError) return cause;
  return new RuntimeError('INVALID_CONFIG', `${message}: ${messageOf(cause)}`, { cause });
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
