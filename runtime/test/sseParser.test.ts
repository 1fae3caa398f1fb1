import { describe, expect, it } from 'vitest';
import { type SseEvent, SseParser } from '../src/sseParser.js';

function parse(chunks: (string | Uint8Array)[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((e) => events.push(e));
  const encoder = new TextEncoder();
  for (const chunk of chunks) parser.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
  parser.end();
  return events;
}

/** Every way of cutting `text` in two must give the same events as the whole. */
function everySplit(text: string): SseEvent[][] {
  const bytes = new TextEncoder().encode(text);
  const results: SseEvent[][] = [];
  for (let cut = 0; cut <= bytes.length; cut++) results.push(parse([bytes.slice(0, cut), bytes.slice(cut)]));
  return results;
}

describe('SseParser', () => {
  it('parses named events with ids, carrying the last id over', () => {
    const events = parse(['id: 11\nevent: change\ndata: {"version":11}\n\nevent: heartbeat\ndata: {"version":11}\n\n']);
    expect(events).toEqual([
      { event: 'change', data: '{"version":11}', id: '11' },
      { event: 'heartbeat', data: '{"version":11}', id: '11' },
    ]);
  });

  it('joins data lines with newlines, skips comments, defaults the type to message', () => {
    expect(parse([': keep-alive\ndata: a\ndata:b\ndata\n\n'])).toEqual([{ event: 'message', data: 'a\nb\n', id: undefined }]);
  });

  it('accepts CRLF, CR and LF line ends, however the chunks split them', () => {
    const text = 'event: snapshot\r\ndata: x\r\n\r\nevent: change\rdata: y\r\revent: heartbeat\ndata: z\n\n';
    const expected = [
      { event: 'snapshot', data: 'x', id: undefined },
      { event: 'change', data: 'y', id: undefined },
      { event: 'heartbeat', data: 'z', id: undefined },
    ];
    for (const events of everySplit(text)) expect(events).toEqual(expected);
  });

  it('decodes UTF-8 split across chunks and strips a leading BOM', () => {
    const text = '\uFEFFdata: caf\u00e9 \u{1F600}\n\n';
    for (const events of everySplit(text)) expect(events).toEqual([{ event: 'message', data: 'caf\u00e9 \u{1F600}', id: undefined }]);
  });

  it('dispatches nothing for an event without data or without its blank line', () => {
    expect(parse(['event: change\n\n', 'event: snapshot\ndata: half'])).toEqual([]);
  });

  it('refuses an event larger than its limit instead of buffering forever', () => {
    const parser = new SseParser(() => {}, 100);
    expect(() => parser.push(new TextEncoder().encode(`data: ${'x'.repeat(200)}`))).toThrow(/exceeds 100/);
  });
});
