// A minimal server-sent-events reader over fetch, for tests against a listening app.
// The framing is the runtime's own parser (one parser for the wire, CR/LF/CRLF alike);
// it is not a public export of @orgplane/runtime, so it is imported from its source.
import { SseParser } from '../../runtime/src/sseParser.js';
import type { Json } from './helpers.js';

export interface SseEvent {
  event: string;
  /** The stream's last event id so far (the spec carries an id over to later events). */
  id: string | undefined;
  data: Json;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  headers = new Headers();
  /** Resolves when the server ends the stream (or we close it). */
  readonly ended: Promise<void>;
  private cursor = 0;
  private wake: (() => void) | null = null;
  private done = false;
  private readonly abort = new AbortController();
  private endedResolve!: () => void;

  private constructor() {
    this.ended = new Promise((resolve) => {
      this.endedResolve = resolve;
    });
  }

  static async open(baseUrl: string, token: string, options: { since?: number; lastEventId?: string } = {}): Promise<SseClient> {
    const client = new SseClient();
    const url = new URL('/v1/config/watch', baseUrl);
    if (options.since !== undefined) url.searchParams.set('since', String(options.since));
    const res = await fetch(url, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        ...(options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId }),
      },
      signal: client.abort.signal,
    });
    client.status = res.status;
    client.headers = res.headers;
    if (!res.body) throw new Error(`no body (status ${res.status})`);
    void client.pump(res.body);
    return client;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = new SseParser(({ event, id, data }) => {
      this.events.push({ event, id, data: JSON.parse(data) });
      this.wake?.();
    });
    try {
      for await (const chunk of body) parser.push(chunk);
      parser.end();
    } catch {
      // aborted or reset: treated as the end of the stream
    } finally {
      this.done = true;
      this.endedResolve();
      this.wake?.();
    }
  }

  /** The next event that is not a heartbeat (or `wanted`), waiting up to `limitMs`. */
  async next(wanted: (e: SseEvent) => boolean = (e) => e.event !== 'heartbeat', limitMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      while (this.cursor < this.events.length) {
        const event = this.events[this.cursor++]!;
        if (wanted(event)) return event;
      }
      if (this.done) throw new Error(`stream ended; events so far: ${JSON.stringify(this.events.map((e) => [e.event, e.id]))}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no event within ${limitMs} ms; events so far: ${JSON.stringify(this.events.map((e) => [e.event, e.id]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  async take(count: number): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next());
    return out;
  }

  close(): void {
    this.abort.abort();
  }
}
