// The tests' SSE reader must read what any conforming server may send, not only the
// LF-only frames our control plane writes today: its old hand-written splitter waited
// for "\n\n" forever on CRLF-delimited events.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseClient } from './sseClient.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that answers the watch path with `chunks`, written one by one, then ends. */
async function serve(chunks: string[]): Promise<string> {
  server = createServer(async (req, res) => {
    if (!req.url?.startsWith('/v1/config/watch')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const chunk of chunks) {
      res.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    res.end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('SseClient', () => {
  it('parses CRLF-delimited events, even when a chunk splits a CRLF pair', async () => {
    const url = await serve([
      'id: 7\r\nevent: change\r\ndata: {"version":7}\r',
      '\n\r\n: keep-alive\r\n\r\nevent: heartbeat\r\ndata: {"version":7}\r\n\r',
      '\nid: 8\r\nevent: change\r\ndata: {"version":\r\ndata: 8}\r\n\r\n',
    ]);
    const client = await SseClient.open(url, 'token');
    await client.ended;
    expect(client.status).toBe(200);
    expect(client.events).toEqual([
      { event: 'change', id: '7', data: { version: 7 } },
      { event: 'heartbeat', id: '7', data: { version: 7 } },
      { event: 'change', id: '8', data: { version: 8 } },
    ]);
  });

  it('parses LF- and CR-delimited events the same way', async () => {
    const url = await serve(['id: 1\nevent: change\ndata: {"version":1}\n\n', 'id: 2\revent: change\rdata: {"version":2}\r\r']);
    const client = await SseClient.open(url, 'token');
    expect(await client.take(2)).toEqual([
      { event: 'change', id: '1', data: { version: 1 } },
      { event: 'change', id: '2', data: { version: 2 } },
    ]);
  });
});
