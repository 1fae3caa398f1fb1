#!/usr/bin/env node
// `node examples/tenant-api/dist/main.js`: one instance of the tenant API (the lab starts two).
import { createRuntime } from '@orgplane/runtime';
import { Redis } from 'ioredis';
import { buildTenantApi } from './app.js';
import { loadTenantApiConfig } from './config.js';

const config = loadTenantApiConfig();
const runtime = createRuntime({
  url: config.controlPlaneUrl,
  token: config.token,
  ...(config.cacheDir === undefined ? {} : { cacheDir: config.cacheDir }),
  credentials: {
    ...(config.dbUser === undefined ? {} : { user: config.dbUser }),
    ...(config.dbPassword === undefined ? {} : { password: config.dbPassword }),
  },
});
// enableOfflineQueue off: with Redis down a command fails at once and the guard's
// documented fallback applies, instead of queueing until the timeout.
const redisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(2000, 100 * n) };
// Auto-pipelining: the guards' scripts of concurrent requests share one write to Redis.
const redis = config.guards === 'on' ? new Redis(config.redisUrl, { ...redisOptions, enableAutoPipelining: true }) : null;
const subscriber = config.guards === 'on' ? new Redis(config.redisUrl, redisOptions) : null;
redis?.on('error', () => {});
subscriber?.on('error', () => {});
await runtime.ready(30_000);
const { app } = await buildTenantApi({
  runtime,
  redis,
  subscriber,
  guards: config.guards,
  instanceId: config.instanceId,
  onError: (err) => process.stderr.write(`${new Date().toISOString()} ${config.instanceId}: ${err.stack ?? err.message}\n`),
});
const address = await app.listen({ host: config.host, port: config.port });
process.stdout.write(`tenant-api ${config.instanceId} listening on ${address} (guards ${config.guards})\n`);

const stop = async () => {
  await app.close();
  redis?.disconnect();
  subscriber?.disconnect();
  await runtime.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
