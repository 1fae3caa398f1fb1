// A minimal server-sent-events reader over fetch, for tests against a listening app.
import type { Json } from './helpers.js';

export interface SseEvent {
  event: string;
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
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted or reset: treated as the end of the stream
    } finally {
      this.done = true;
      this.endedResolve();
      this.wake?.();
    }
  }

  private parse(frame: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0) return;
    this.events.push({ event, id, data: JSON.parse(data.join('\n')) });
    this.wake?.();
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
