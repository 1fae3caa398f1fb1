#!/usr/bin/env node
// The control-plane process: read the environment, migrate, listen, and shut down
// cleanly on SIGTERM / SIGINT.
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { migrate } from './db/migrate.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';

/** How long a SIGTERM / SIGINT may take to close everything before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger({ logLevel: 'info' }).fatal({ hint: err.hint }, err.message);
    process.exitCode = 2;
    return;
  }
  const log = createLogger(config);
  if (config.migrateOnBoot) {
    const applied = await migrate(config.databaseUrl, 'control-plane');
    if (applied.length > 0) log.info({ applied }, 'applied control-plane migrations');
  }
  const controlPlane = await buildApp(config, { logger: log, gateWorker: true, replicaHealth: true });
  const { app } = controlPlane;
  // Fastify logs a line per address; we print exactly one, with the URL as a field.
  app.log.level = 'warn';
  const url = await app.listen({ host: config.host, port: config.port });
  app.log.level = config.logLevel;
  log.info({ url, heartbeatMs: config.heartbeatMs }, 'control plane listening');
  if (config.prometheusUrl === null) {
    log.warn('ORGPLANE_PROMETHEUS_URL is not set: SLO checks are stored unvalidated and every gate evaluation is an error');
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A supervisor (the lab, Kubernetes) waits for the process to leave; a shutdown step
    // that hangs (a dead DB connection, a request that never ends) must not keep it.
    setTimeout(() => {
      log.error({ signal, graceMs: SHUTDOWN_GRACE_MS }, 'shutdown did not finish in time: exiting now');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    controlPlane.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  createLogger({ logLevel: 'info' }).fatal({ err }, 'the control plane failed to start');
  process.exitCode = 1;
});
