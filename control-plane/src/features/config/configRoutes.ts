import { COMPACT_MEDIA_TYPE } from '@orgplane/runtime/compact';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { SnapshotSendsBusyError } from '../../errors.js';
import { etagMatches } from '../../http/etag.js';
import { parseCount } from '../../http/queryParams.js';
import { responses } from '../../http/schemas.js';
import type { SendLimiter } from '../../http/sendLimiter.js';
import { ALLOW } from '../auth/authHook.js';
import type { ConfigHub } from './ConfigHub.js';
import { ConfigSnapshotSchema, WatchQuery, WatchStream } from './configSchemas.js';
import type { SnapshotCache, SnapshotFormat } from './SnapshotCache.js';
import { SSE_HEADERS, SseSink } from './SseSink.js';

/** `Last-Event-ID` (sent by a reconnecting EventSource) wins over `?since`. */
function resumeVersion(request: FastifyRequest<{ Querystring: { since?: string } }>): number | null {
  const lastEventId = request.headers['last-event-id'];
  if (typeof lastEventId === 'string' && /^[0-9]{1,16}$/.test(lastEventId.trim())) return Number(lastEventId.trim());
  return parseCount(request.query.since, 'since') ?? null;
}

/**
 * Compact when Accept names COMPACT_MEDIA_TYPE with a q at least that of any JSON type it
 * names; JSON for everything else, a malformed or unknown Accept included (never 406).
 */
export function wantsCompact(accept: string | undefined): boolean {
  if (!accept) return false;
  let compact = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';');
    const name = type?.trim().toLowerCase();
    const qParam = params.map((p) => /^\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?)\s*$/i.exec(p)).find((m) => m !== null);
    const q = qParam ? Math.min(1, Number(qParam[1])) : 1;
    if (name === COMPACT_MEDIA_TYPE) compact = Math.max(compact, q);
    else if (name === 'application/json') json = Math.max(json, q);
  }
  return compact > 0 && compact >= json;
}

export function snapshotEtag(version: number, format: SnapshotFormat): string {
  return format === 'compact' ? `"${version}.compact"` : `"${version}"`;
}

/** 503 + Retry-After when every snapshot-send slot is taken; else the slot's release. */
function acquireSend(sends: SendLimiter, reply: FastifyReply): () => void {
  const release = sends.tryAcquire();
  if (release) return release;
  reply.header('retry-after', String(sends.retryAfterSeconds));
  throw new SnapshotSendsBusyError(sends.max, sends.retryAfterSeconds);
}

export function registerConfigRoutes(app: FastifyInstance, cache: SnapshotCache, hub: ConfigHub, sends: SendLimiter): void {
  const snapshot = {
    summary:
      'The whole config at one version; `ETag: "<version>"` (`"<version>.compact"` for the compact form), 304 on `If-None-Match`. ' +
      `\`Accept: ${COMPACT_MEDIA_TYPE}\` asks for the compact encoding; gzip and br by Accept-Encoding; 503 + Retry-After when too many snapshots are being sent.`,
    response: responses({
      200: {
        description: 'The snapshot: JSON by default, the compact encoding (runtime/src/compactSnapshot.ts) when asked',
        content: {
          'application/json': { schema: ConfigSnapshotSchema },
          [COMPACT_MEDIA_TYPE]: { schema: Type.String({ description: 'binary: the compact snapshot' }) },
        },
      },
      304: { description: 'Not modified', type: 'null' },
    }),
  };
  app.get('/v1/config', { config: { auth: ALLOW.configRead }, schema: snapshot }, async (request, reply) => {
    const format: SnapshotFormat = wantsCompact(request.headers.accept) ? 'compact' : 'json';
    reply.header('vary', 'Accept, Accept-Encoding').header('cache-control', 'no-cache');
    const ifNoneMatch = request.headers['if-none-match'];
    const version = await cache.currentVersion();
    if (ifNoneMatch && etagMatches(ifNoneMatch, snapshotEtag(version, format))) {
      return reply.code(304).header('etag', snapshotEtag(version, format)).send();
    }
    const release = acquireSend(sends, reply);
    reply.raw.once('close', release);
    try {
      const cached = await cache.atLeast(version);
      const { coding, body } = await cached.body(format).negotiate(request.headers['accept-encoding']);
      if (coding !== 'identity') reply.header('content-encoding', coding);
      return reply
        .header('etag', snapshotEtag(cached.version, format))
        .type(format === 'compact' ? COMPACT_MEDIA_TYPE : 'application/json; charset=utf-8')
        .send(body);
    } catch (err) {
      release();
      throw err;
    }
  });

  app.get<{ Querystring: { since?: string; format?: 'json' | 'compact' } }>(
    '/v1/config/watch',
    {
      config: { auth: ALLOW.configRead },
      schema: {
        summary: 'Config deltas after `?since=N` (or `Last-Event-ID`) as server-sent events',
        querystring: WatchQuery,
        response: { 200: WatchStream },
      },
    },
    async (request, reply) => {
      const since = resumeVersion(request);
      // A watcher that will get a whole snapshot takes a send slot until its first event is written.
      const release = hub.needsSnapshot(since) ? acquireSend(sends, reply) : undefined;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, SSE_HEADERS);
      // Reconnect quickly after a drop; the stream resumes from Last-Event-ID.
      res.write('retry: 1000\n\n');
      const stop = hub.watch(since, new SseSink(res, { onFirstWritten: release, compact: request.query.format === 'compact' }));
      res.on('close', () => {
        stop();
        release?.();
      });
    },
  );
}
