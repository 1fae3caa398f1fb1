import type { ServerResponse } from 'node:http';
import type { WatchEventName } from '@orgplane/runtime/wire';
import type { WatchSink } from './ConfigHub.js';
import { CachedSnapshot } from './SnapshotCache.js';

/** A client that lets this much pile up unread is dropped; it reconnects with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx and friends buffer responses unless told not to.
  'x-accel-buffering': 'no',
} as const;

/** Server-sent events on a raw response: `id:` (changes only), `event:`, one `data:` line. */
export class SseSink implements WatchSink {
  private readonly maxBufferedBytes: number;
  private readonly compact: boolean;
  /** Called once the first event has been handed to the socket (frees a snapshot-send slot). */
  private onFirstWritten: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    options: { maxBufferedBytes?: number; compact?: boolean; onFirstWritten?: (() => void) | undefined } = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.compact = options.compact ?? false;
    this.onFirstWritten = options.onFirstWritten;
  }

  send(event: WatchEventName, data: unknown, id?: number): boolean {
    if (this.res.writableEnded || this.res.destroyed) return false;
    const idLine = id === undefined ? '' : `id: ${id}\n`;
    const done = this.onFirstWritten;
    this.onFirstWritten = undefined;
    const written = done && (() => done());
    let shared = 0;
    if (data instanceof CachedSnapshot) {
      // The version's body, serialized once and shared by every stream (no copy per watcher).
      const body = this.compact ? data.compactEvent() : data.json.identity;
      shared = body.length;
      this.res.cork();
      this.res.write(`${idLine}event: ${this.compact ? 'compact-snapshot' : event}\ndata: `);
      this.res.write(body);
      this.res.write('\n\n', written);
      this.res.uncork();
    } else {
      this.res.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, written);
    }
    // A shared snapshot body is referenced, not copied: it does not count against the limit.
    return this.res.writableLength <= this.maxBufferedBytes + shared;
  }

  close(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
