import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Config } from './config.js';
import { registerErrorHandler } from './errors.js';
import { createPool, createServices, type Services } from './factory.js';
import { installAuth } from './features/auth/authHook.js';
import type { CohortServiceOptions } from './features/cohorts/CohortService.js';
import type { ConfigHub } from './features/config/ConfigHub.js';
import { Metrics } from './features/health/Metrics.js';
import { defaultTenantMover } from './features/moves/defaultTenantMover.js';
import { MOVE_STATES, type TenantMoverFactory } from './features/moves/Move.js';
import { MoveExecutor } from './features/moves/MoveExecutor.js';
import { registerReplicaHealthMetrics } from './features/replica-health/ReplicaHealthMetrics.js';
import { ReplicaHealthWorker } from './features/replica-health/ReplicaHealthWorker.js';
import type { RolloutServiceOptions } from './features/rollouts/RolloutService.js';
import { GateMetrics } from './features/slo-gates/GateMetrics.js';
import { GateWorker } from './features/slo-gates/GateWorker.js';
import { rolloutGatePort } from './features/slo-gates/rolloutGatePort.js';
import { AJV_OPTIONS, registerRoutes } from './http/routes.js';
import { createLogger, type Logger } from './logger.js';

export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export interface BuildAppOptions {
  /** A pool the caller owns (and ends); by default buildApp makes one and close() ends it. */
  pool?: pg.Pool;
  logger?: Logger;
  /** Config deltas each instance keeps in memory for resuming watchers (default 1000). */
  maxBufferedDeltas?: number;
  rollouts?: RolloutServiceOptions;
  cohorts?: CohortServiceOptions;
  /** The tenant side of moves; tests inject their own. */
  createMover?: TenantMoverFactory;
  /**
   * Run the SLO gate worker (it acts only while holding its advisory lock). Default false:
   * it moves rollouts by itself, so an embedded control plane (tests, the CLI's) opts in;
   * the control-plane process (main.ts) always does.
   */
  gateWorker?: boolean;
  /** Run the replica health checker (it probes only while holding its lock). Default false, as gateWorker. */
  replicaHealth?: boolean;
}

export interface ControlPlane {
  app: FastifyInstance;
  hub: ConfigHub;
  services: Services;
  /** The move executor, when config.moves.executor is on (it runs moves only while it holds the lock). */
  executor: MoveExecutor | null;
  /** The SLO gate worker, or null when built with `gateWorker: false`. */
  gates: GateWorker | null;
  /** The replica health checker, or null when built without `replicaHealth: true`. */
  replicaHealth: ReplicaHealthWorker | null;
  /** Ends the watch streams, the HTTP server, the LISTEN connection and the pool. */
  close(): Promise<void>;
}

/** The HTTP service, connected: its config hub is LISTENing when this resolves. */
export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<ControlPlane> {
  const logger = options.logger ?? createLogger(config);
  const pool = options.pool ?? createPool(config, logger);
  const ownsPool = options.pool === undefined;
  let hub: ConfigHub | null = null;
  const metrics = new Metrics(() => hub, MOVE_STATES);
  const createMover = options.createMover ?? defaultTenantMover;
  const services = createServices(config, pool, logger, {
    ...(options.maxBufferedDeltas === undefined ? {} : { maxBufferedDeltas: options.maxBufferedDeltas }),
    onDelta: (lagSeconds) => metrics.observeNotifyLag(lagSeconds),
    ...(options.rollouts === undefined ? {} : { rollouts: options.rollouts }),
    ...(options.cohorts === undefined ? {} : { cohorts: options.cohorts }),
  });
  hub = services.hub;
  metrics.watchMoves(services.db.stores.moves);
  const executor = config.moves.executor
    ? new MoveExecutor({
        databaseUrl: config.databaseUrl,
        db: services.db,
        createMover,
        log: logger.child({ component: 'move-executor' }),
        metrics,
        concurrency: config.moves.concurrency,
        pollMs: config.moves.pollMs,
        lagThresholdBytes: config.moves.lagThresholdBytes,
        retryBaseMs: config.moves.retryBaseMs,
        maxFailures: config.moves.maxFailures,
      })
    : null;

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: AJV_OPTIONS,
  });
  registerErrorHandler(app, {
    bodyLimitBytes: BODY_LIMIT_BYTES,
    onError: (code) => metrics.countError(code),
  });
  installAuth(app, services.tokens);
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.routeOptions.url, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });

  await registerRoutes(app, { pool, services, metrics });

  const gates =
    options.gateWorker !== true
      ? null
      : new GateWorker({
          databaseUrl: config.databaseUrl,
          port: rolloutGatePort(services.rollouts),
          prometheus: services.prometheus,
          log: logger,
          metrics: new GateMetrics(metrics.registry),
          tickMs: config.gateTickMs,
        });

  const replicaHealth =
    options.replicaHealth !== true
      ? null
      : new ReplicaHealthWorker({
          databaseUrl: config.databaseUrl,
          store: services.db.stores.replicaHealth,
          service: services.replicaHealth,
          log: logger,
          probeIntervalMs: config.replicaProbeMs,
        });
  registerReplicaHealthMetrics(metrics.registry, () => replicaHealth?.lastProbes() ?? []);

  // Watch streams never end on their own: close them first, or server.close() waits forever.
  app.addHook('preClose', async () => {
    await executor?.stop();
    await gates?.stop();
    await replicaHealth?.stop();
    await services.hub.close();
  });
  app.addHook('onClose', async () => {
    if (ownsPool) await pool.end();
  });

  try {
    await services.hub.start();
  } catch (err) {
    if (ownsPool) await pool.end().catch(() => {});
    throw err;
  }
  executor?.start();
  gates?.start();
  replicaHealth?.start();
  return { app, hub: services.hub, services, executor, gates, replicaHealth, close: () => app.close() };
}
