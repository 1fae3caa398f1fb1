// The API client over node:http against a local server that checks what it receives.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../src/apiClient.js';
import { ApiError, CliError } from '../src/errors.js';

let server: Server;
let url: string;
const seen: { method?: string; url?: string; auth?: string; type?: string; length?: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        length: req.headers['content-length'],
        body,
      });
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: 7, name: 'ünïcode' }));
      } else {
        res
          .writeHead(409, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'VERSION_CONFLICT', message: 'the map moved on', details: { currentVersion: 8 } } }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('createApiClient', () => {
  it('GETs with the bearer token and the query, and parses the JSON answer', async () => {
    const api = createApiClient({ url, token: 't0k', source: 'env' });
    expect(await api.get('/v1/shard-map', { limit: 5, before: undefined })).toEqual({ version: 7, name: 'ünïcode' });
    expect(seen.at(-1)).toMatchObject({ method: 'GET', url: '/v1/shard-map?limit=5', auth: 'Bearer t0k', body: '' });
  });

  it('sends a JSON body with its byte length; an error answer is an ApiError with its code and exit code', async () => {
    const api = createApiClient({ url, token: 't0k', source: 'env' });
    const err = await api.send('POST', '/v1/shard-map/split', { at: 5, reason: 'é' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'VERSION_CONFLICT', exitCode: 5, status: 409 });
    expect((err as ApiError).hint).toContain('--expected-version 8');
    const body = JSON.stringify({ at: 5, reason: 'é' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', type: 'application/json', length: String(Buffer.byteLength(body)), body });
  });

  it('a control plane nobody answers for is CONTROL_PLANE_UNREACHABLE, exit 6', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const api = createApiClient({ url: `http://ops:hunter2secret@127.0.0.1:${port}`, token: 't', source: 'env' });
    const err = await api.get('/v1/clusters').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ code: 'CONTROL_PLANE_UNREACHABLE', exitCode: 6 });
    expect((err as CliError).message).toContain('ECONNREFUSED');
    // A password written into ORGPLANE_URL is never echoed.
    expect((err as CliError).message).toContain(`http://127.0.0.1:${port}`);
    expect(JSON.stringify(err)).not.toContain('hunter2secret');
    expect(String((err as CliError).message)).not.toContain('hunter2secret');
  });
});
