import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { Type } from 'typebox';
import { Doc } from '../../http/schemas.js';
import type { HubState, Metrics } from './Metrics.js';

const READY_TIMEOUT_MS = 2000;

async function dbAnswers(pool: pg.Pool, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const query = pool.query('SELECT 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const Status = Doc({ status: Type.String() });
const NotReady = Doc({ status: Type.String(), checks: Doc({ db: Type.Boolean(), listen: Type.Boolean() }) });
const PrometheusText = { description: 'Prometheus text exposition', content: { 'text/plain': { schema: Type.String() } } };

export function registerHealthRoutes(app: FastifyInstance, deps: { pool: pg.Pool; hub: HubState; metrics: Metrics }): void {
  app.get(
    '/healthz',
    { config: { auth: 'public' }, logLevel: 'warn', schema: { summary: 'Liveness', response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  const readiness = { summary: 'Readiness: the DB and the LISTEN connection work', response: { 200: Status, 503: NotReady } };
  app.get('/readyz', { config: { auth: 'public' }, logLevel: 'warn', schema: readiness }, async (_request, reply) => {
    const db = await dbAnswers(deps.pool, READY_TIMEOUT_MS);
    const listen = deps.hub.connected;
    if (db && listen) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', checks: { db, listen } });
  });

  const metrics = { summary: 'Prometheus metrics', response: { 200: PrometheusText } };
  app.get('/metrics', { config: { auth: 'any' }, schema: metrics }, async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}
