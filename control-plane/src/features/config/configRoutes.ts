import type { FastifyInstance, FastifyRequest } from 'fastify';
import { etagMatches } from '../../http/etag.js';
import { parseCount } from '../../http/queryParams.js';
import { responses } from '../../http/schemas.js';
import { ALLOW } from '../auth/authHook.js';
import type { ConfigHub } from './ConfigHub.js';
import type { ConfigSnapshotService } from './ConfigSnapshotService.js';
import { ConfigSnapshotSchema, WatchQuery, WatchStream } from './configSchemas.js';
import { SSE_HEADERS, SseSink } from './SseSink.js';

/** `Last-Event-ID` (sent by a reconnecting EventSource) wins over `?since`. */
function resumeVersion(request: FastifyRequest<{ Querystring: { since?: string } }>): number | null {
  const lastEventId = request.headers['last-event-id'];
  if (typeof lastEventId === 'string' && /^[0-9]{1,16}$/.test(lastEventId.trim())) return Number(lastEventId.trim());
  return parseCount(request.query.since, 'since') ?? null;
}

export function registerConfigRoutes(app: FastifyInstance, snapshots: ConfigSnapshotService, hub: ConfigHub): void {
  const snapshot = {
    summary: 'The whole config at one version; `ETag: "<version>"`, 304 on `If-None-Match`',
    response: responses({ 200: ConfigSnapshotSchema, 304: { description: 'Not modified', type: 'null' } }),
  };
  app.get('/v1/config', { config: { auth: ALLOW.configRead }, schema: snapshot }, async (request, reply) => {
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch) {
      const version = await snapshots.currentVersion();
      if (etagMatches(ifNoneMatch, `"${version}"`)) return reply.code(304).header('etag', `"${version}"`).send();
    }
    const snapshot = await snapshots.load();
    return reply.header('etag', `"${snapshot.version}"`).header('cache-control', 'no-cache').send(snapshot);
  });

  app.get<{ Querystring: { since?: string } }>(
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
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, SSE_HEADERS);
      // Reconnect quickly after a drop; the stream resumes from Last-Event-ID.
      res.write('retry: 1000\n\n');
      const stop = hub.watch(since, new SseSink(res));
      res.on('close', stop);
    },
  );
}
