// The guards for node:http, express and fastify, with the same behaviour: express's
// middleware is the node:http path (it sees the same req/res), fastify's plugin runs the
// same steps in its hooks. None of the three frameworks is imported at run time.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorReply, type GuardIdentity, type GuardReply, type Guards } from './Guards.js';

/** How a service tells the guards who a request is for. `params`: the framework's route params. */
export type Identify = (
  req: IncomingMessage,
  params: Record<string, string> | undefined,
) => GuardIdentity | null | Promise<GuardIdentity | null>;

export interface AdapterOptions {
  identify: Identify;
  /** Requests whose Idempotency-Key is required (missing: 400); default none. */
  requireIdempotencyKey?: (method: string, path: string) => boolean;
}

export interface GuardContext {
  identity: GuardIdentity | null;
  /** The body as read (empty for none). */
  body: Buffer;
}

function send(res: ServerResponse, reply: GuardReply): void {
  if (res.headersSent) return;
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body.length) });
  res.end(reply.body);
}

/** The body, or null when it went over the limit (413 sent, the connection closed after it). */
function readBody(req: IncomingMessage, res: ServerResponse, guards: Guards, headers: Record<string, string>): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > guards.bodyLimitBytes) {
        req.off('data', onData);
        req.pause();
        guards.metrics.decision('body_limit', 'refused');
        send(res, guards.tooLarge(headers));
        res.once('finish', () => req.destroy());
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

/** Collects what the handler writes, for the idempotency record. */
function capture(res: ServerResponse, done: (body: Buffer, headers: Record<string, unknown>) => void): void {
  const chunks: Buffer[] = [];
  const headers: Record<string, unknown> = {};
  const writeHead = res.writeHead.bind(res);
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    const given = rest.find((r) => r !== null && typeof r === 'object');
    if (given && !Array.isArray(given)) for (const [name, value] of Object.entries(given)) headers[name.toLowerCase()] = value;
    return writeHead(status, ...(rest as []));
  }) as typeof res.writeHead;
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  const keep = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    chunks.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
    );
  };
  res.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
    keep(chunk, encoding);
    return write(chunk as never, encoding as never, cb as never);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    keep(chunk, encoding);
    return end(chunk as never, encoding as never, cb as never);
  }) as typeof res.end;
  res.once('finish', () => done(Buffer.concat(chunks), { ...res.getHeaders(), ...headers }));
}

/** Steps shared by node:http and express; null when the guards answered. */
async function guardRaw(
  guards: Guards,
  options: AdapterOptions,
  req: IncomingMessage,
  res: ServerResponse,
  params: Record<string, string> | undefined,
): Promise<GuardContext | null> {
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?')[0]!;
  const identity = await options.identify(req, params);
  const admission = await guards.admit(method, req.headers, identity);
  if (admission.kind === 'reply') {
    send(res, admission.reply);
    if (admission.reply.status === 413) res.once('finish', () => req.destroy());
    return null;
  }
  for (const [name, value] of Object.entries(admission.headers)) res.setHeader(name, value);
  const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
  const body = hasBody ? await readBody(req, res, guards, admission.headers) : Buffer.alloc(0);
  if (body === null) return null;
  const claimed = await guards.claim(method, path, req.headers, body, identity, {
    required: options.requireIdempotencyKey?.(method, path) ?? false,
  });
  if (claimed.kind === 'reply') {
    send(res, claimed.reply);
    return null;
  }
  if (claimed.claim) {
    const claim = claimed.claim;
    capture(res, (written, headers) => void guards.complete(claim, res.statusCode, headers, written));
  }
  return { identity, body };
}

/** A node:http request listener that runs `handler` behind the guards. */
export function nodeHandler(
  guards: Guards,
  options: AdapterOptions,
  handler: (req: IncomingMessage, res: ServerResponse, ctx: GuardContext) => void | Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    guardRaw(guards, options, req, res, undefined)
      .then((ctx) => (ctx ? handler(req, res, ctx) : undefined))
      .catch((err: unknown) => {
        send(res, errorReply(500, 'INTERNAL', 'the request failed'));
        res.emit('error-logged', err);
      });
  };
}

interface ExpressLikeRequest extends IncomingMessage {
  params?: Record<string, string>;
  body?: unknown;
  guard?: GuardContext;
}

/**
 * Express middleware (mount it per route to have req.params in identify). It reads the body
 * itself: req.body is the parsed JSON (or the raw Buffer), req.guard the context.
 */
export function expressMiddleware(guards: Guards, options: AdapterOptions) {
  return (incoming: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    const req = incoming as ExpressLikeRequest;
    guardRaw(guards, options, req, res, req.params)
      .then((ctx) => {
        if (!ctx) return;
        req.guard = ctx;
        req.body = parseJson(req, ctx.body);
        next();
      })
      .catch(next);
  };
}

function parseJson(req: IncomingMessage, body: Buffer): unknown {
  if (body.length === 0) return undefined;
  if (!String(req.headers['content-type'] ?? '').includes('json')) return body;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
}

// Structural types for the parts of fastify the plugin touches.
interface FastifyRequestLike {
  raw: IncomingMessage;
  method: string;
  url: string;
  params: unknown;
  headers: IncomingMessage['headers'];
  rawBody?: Buffer;
  guard?: GuardContext;
  guardClaim?: Parameters<Guards['complete']>[0];
  routeOptions?: { url?: string };
}
interface FastifyReplyLike {
  statusCode: number;
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  getHeaders(): Record<string, unknown>;
  send(payload?: unknown): FastifyReplyLike;
}
interface FastifyLike {
  decorateRequest(name: string, value: unknown): void;
  addHook(name: string, hook: (...args: never[]) => unknown): void;
  addContentTypeParser(
    type: string,
    options: { parseAs: 'buffer'; bodyLimit: number },
    parser: (req: FastifyRequestLike, body: Buffer) => unknown,
  ): void;
  removeContentTypeParser(type: string): void;
}

/**
 * A fastify plugin (not encapsulated: it guards every route of the instance it is registered
 * on). It replaces the JSON body parser with one that keeps the raw body for the request
 * fingerprint, and sets every route's bodyLimit to the guards' limit.
 */
export function fastifyGuards(guards: Guards, options: AdapterOptions) {
  const plugin = async (app: FastifyLike) => {
    app.decorateRequest('guard', null);
    app.decorateRequest('guardClaim', null);
    app.decorateRequest('rawBody', null);
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: guards.bodyLimitBytes }, async (request, body) => {
      request.rawBody = body;
      return body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
    });
    app.addHook('onRoute', ((route: { bodyLimit?: number }) => {
      route.bodyLimit ??= guards.bodyLimitBytes;
    }) as never);
    app.addHook('onRequest', (async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      const identity = await options.identify(request.raw, request.params as Record<string, string>);
      request.guard = { identity, body: Buffer.alloc(0) };
      const admission = await guards.admit(request.method, request.headers, identity);
      if (admission.kind === 'reply') return sendReply(reply, admission.reply);
      reply.headers(admission.headers);
    }) as never);
    app.addHook('preHandler', (async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      const body = request.rawBody ?? Buffer.alloc(0);
      const ctx = request.guard!;
      ctx.body = body;
      const path = request.url.split('?')[0]!;
      const claimed = await guards.claim(request.method, path, request.headers, body, ctx.identity, {
        required: options.requireIdempotencyKey?.(request.method, path) ?? false,
      });
      if (claimed.kind === 'reply') return sendReply(reply, claimed.reply);
      request.guardClaim = claimed.claim ?? undefined;
    }) as never);
    app.addHook('onSend', (async (request: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown) => {
      const claim = request.guardClaim;
      if (!claim) return payload;
      request.guardClaim = undefined;
      const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : null;
      if (body === null) {
        // A stream cannot be replayed: release the claim (500 is never stored).
        await guards.complete(claim, 500, {}, Buffer.alloc(0));
        return payload;
      }
      await guards.complete(claim, reply.statusCode, reply.getHeaders(), body);
      return payload;
    }) as never);
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}

function sendReply(reply: FastifyReplyLike, r: GuardReply): FastifyReplyLike {
  return reply.code(r.status).headers(r.headers).send(r.body);
}
