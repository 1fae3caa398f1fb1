// A text/event-stream parser (the WHATWG "interpreting an event stream" rules) over the
// byte chunks of a fetch body. Chunks may split lines, CRLF pairs and UTF-8 sequences.

import { RuntimeError } from './errors.js';

export interface SseEvent {
  /** `event:` field; "message" when the event named none. */
  event: string;
  data: string;
  /** Last `id:` seen on the stream (it carries over to later events, as the spec says). */
  id: string | undefined;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
/** A server that never ends a line must not make us buffer without bound. */
const DEFAULT_MAX_EVENT_CHARS = 256 * 1024 * 1024;

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private partialLine = '';
  private skipLeadingLF = false;
  private atStreamStart = true;
  private eventType = '';
  private data: string[] = [];
  private dataChars = 0;
  private lastEventId: string | undefined;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly maxEventChars = DEFAULT_MAX_EVENT_CHARS,
  ) {}

  push(chunk: Uint8Array): void {
    this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  /** End of stream: an event without its terminating blank line is discarded (per spec). */
  end(): void {
    this.feed(this.decoder.decode());
    this.partialLine = '';
    this.data = [];
    this.dataChars = 0;
    this.eventType = '';
  }

  private feed(text: string): void {
    if (text.length === 0) return;
    let i = 0;
    if (this.atStreamStart) {
      this.atStreamStart = false;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    if (this.skipLeadingLF) {
      this.skipLeadingLF = false;
      if (text.charCodeAt(i) === LF) i++;
    }
    let lineStart = i;
    for (; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== LF && ch !== CR) continue;
      const line = this.partialLine + text.slice(lineStart, i);
      this.partialLine = '';
      if (ch === CR) {
        if (i + 1 === text.length) this.skipLeadingLF = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      lineStart = i + 1;
      this.line(line);
    }
    if (lineStart < text.length) {
      this.partialLine += text.slice(lineStart);
      if (this.partialLine.length + this.dataChars > this.maxEventChars) {
        throw new RuntimeError('PROTOCOL_ERROR', `event stream: an event exceeds ${this.maxEventChars} characters`);
      }
    }
  }

  private line(line: string): void {
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === COLON) return; // comment, often a keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === SPACE) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.dataChars += value.length + 1;
        if (this.dataChars > this.maxEventChars) {
          throw new RuntimeError('PROTOCOL_ERROR', `event stream: an event exceeds ${this.maxEventChars} characters`);
        }
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      default:
        break; // `retry` and unknown fields: our reconnect policy is our own
    }
  }

  private dispatch(): void {
    const data = this.data;
    const event = this.eventType || 'message';
    this.data = [];
    this.dataChars = 0;
    this.eventType = '';
    if (data.length === 0) return;
    this.onEvent({ event, data: data.join('\n'), id: this.lastEventId });
  }
}
