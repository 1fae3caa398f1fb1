// The CLI's HTTP requests go through node:http(s), not the global fetch: fetch's first
// call loads undici, ~150 ms of CPU at every start of a command that calls the API.
import type { IncomingMessage } from 'node:http';

export interface HttpResponse {
  ok: boolean;
  status: number;
  text(): Promise<string>;
}

export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** The subset of fetch the API client uses; the whole body is read before it resolves. */
export type HttpRequest = (url: string, init: HttpRequestInit) => Promise<HttpResponse>;

export const httpRequest: HttpRequest = async (url, init) => {
  const target = new URL(url);
  const { request } = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
  return new Promise((resolve, reject) => {
    const req = request(target, { method: init.method, headers, signal: init.signal }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ ok: status >= 200 && status < 300, status, text: async () => text });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
};
