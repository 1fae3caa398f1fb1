import type { ServerResponse } from 'node:http';
import type { WatchEventName } from '@orgplane/runtime/wire';
import type { WatchSink } from './ConfigHub.js';

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
  constructor(
    private readonly res: ServerResponse,
    private readonly maxBufferedBytes = MAX_BUFFERED_BYTES,
  ) {}

  send(event: WatchEventName, data: unknown, id?: number): boolean {
    if (this.res.writableEnded || this.res.destroyed) return false;
    const idLine = id === undefined ? '' : `id: ${id}\n`;
    this.res.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return this.res.writableLength <= this.maxBufferedBytes;
  }

  close(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
