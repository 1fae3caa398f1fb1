// The lab's tenant API: two instances of examples/tenant-api as detached background
// processes, each with its own runtime following the lab's control plane, sharing one
// Redis for their guards. Redis is the one on REDIS_URL (default redis://127.0.0.1:6379);
// when none answers the lab starts Debian's redis-server on that port, and without one
// installed it skips the tenant API and says how to install it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createApiToken } from '@orgplane/control-plane/tokens';
import { DEFAULT_REDIS_URL, ensureRedis, freePort, INSTALL_HINT, redisAnswers } from '@orgplane/embedded';
import { sleep } from '@orgplane/kit';
import { controlPlaneUrl } from './controlPlaneProcess.js';
import { LabError } from './errors.js';
import { CONTROL_DB, type Fleet } from './fleet.js';
import type { Launched } from './launch.js';
import { isAlive, isAliveAs, spawnDetached, terminate } from './processes.js';
import { type LabState, writeState } from './state.js';
import type { Step } from './steps.js';

export const TENANT_API_INSTANCES = 2;
export const TENANT_API_JOB = 'tenant-api';

export interface TenantApiSlot {
  instances: { id: string; port: number; pid: number | null }[];
  /** Its sdk:read token: the instances follow the control plane with it. */
  token: string | null;
  tokenId: string | null;
  redis: { url: string; pid: number | null };
}

export const tenantApiUrl = (port: number) => `http://127.0.0.1:${port}`;
export const tenantApiLog = (dir: string, id: string) => path.join(dir, `${id}.log`);

/** examples/tenant-api/dist/main.js, or null when it is not built. */
export function tenantApiMain(): string | null {
  try {
    const main = path.join(path.dirname(createRequire(import.meta.url).resolve('@orgplane/tenant-api')), 'main.js');
    return existsSync(main) ? main : null;
  } catch {
    return null;
  }
}

export function isTenantApiRunning(pid: number | null | undefined): pid is number {
  return isAliveAs(pid, 'tenant-api', 'main.js');
}

/** Ports for the instances, chosen once (Prometheus's config names them before they start). */
export async function ensureTenantApiSlot(state: LabState): Promise<TenantApiSlot> {
  if (state.tenantApi) return state.tenantApi;
  const taken = new Set([
    state.controlDb.port,
    state.controlPlane.port,
    state.prometheus?.port,
    ...state.fleet.flatMap((c) => [c.port, ...c.replicas.map((r) => r.port)]),
  ]);
  const instances: TenantApiSlot['instances'] = [];
  for (let i = 1; i <= TENANT_API_INSTANCES; i++) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    instances.push({ id: `tenant-api-${i}`, port, pid: null });
  }
  state.tenantApi = { instances, token: null, tokenId: null, redis: { url: process.env.REDIS_URL ?? DEFAULT_REDIS_URL, pid: null } };
  return state.tenantApi;
}

export function startTenantApiStep(dir: string, state: LabState, fleet: Fleet, launched: Launched): Step {
  return {
    title: `Start the tenant API (${TENANT_API_INSTANCES} instances)`,
    async run(report) {
      const main = tenantApiMain();
      if (!main) return report.skip('not built: run `npx tsc -b examples/tenant-api`');
      const slot = await ensureTenantApiSlot(state);
      if (!(await redisAnswers(slot.redis.url))) {
        try {
          const { started } = await ensureRedis(slot.redis.url, { detached: true, logFile: path.join(dir, 'redis.log') });
          slot.redis.pid = started?.pid ?? null;
          if (started) report.output(`started redis-server on ${slot.redis.url}`);
        } catch (err) {
          return report.skip(`no Redis on ${slot.redis.url}: ${INSTALL_HINT} (${(err as Error).message})`);
        }
      }
      if (!slot.token) {
        const { id, token } = await createApiToken(fleet.controlDb.url(CONTROL_DB), { name: 'lab-tenant-api', scope: 'sdk:read' });
        slot.token = token;
        slot.tokenId = id;
      }
      for (const instance of slot.instances) {
        if (isTenantApiRunning(instance.pid)) continue;
        const logFile = tenantApiLog(dir, instance.id);
        instance.pid = spawnDetached({
          command: process.execPath,
          args: [main],
          env: {
            ORGPLANE_URL: controlPlaneUrl(state.controlPlane.port),
            ORGPLANE_TOKEN: slot.token,
            REDIS_URL: slot.redis.url,
            TENANT_API_PORT: String(instance.port),
            TENANT_API_INSTANCE: instance.id,
            TENANT_DB_PASSWORD: state.password,
            TENANT_API_CACHE_DIR: path.join(dir, instance.id),
          },
          logFile,
        });
        launched.tenantApiPids.push(instance.pid);
        await writeState(dir, state);
        await waitHealthy(instance.pid, instance.port, logFile);
        launched.ids.push(instance.id);
        report.output(`${instance.id} at ${tenantApiUrl(instance.port)}`);
      }
      await writeState(dir, state);
    },
  };
}

async function waitHealthy(pid: number, port: number, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) throw new LabError('LAB_UP_FAILED', 'the tenant API exited while starting', `read ${logFile}`);
    try {
      if ((await fetch(`${tenantApiUrl(port)}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new LabError('LAB_UP_FAILED', `the tenant API did not answer on port ${port}`, `read ${logFile}`);
    await sleep(200);
  }
}

/** Stops the instances (and a redis-server the lab started); returns the ids stopped. */
export async function stopTenantApi(state: LabState, graceMs = 10_000): Promise<string[]> {
  const stopped: string[] = [];
  for (const instance of state.tenantApi?.instances ?? []) {
    if (!isTenantApiRunning(instance.pid)) continue;
    await terminate(instance.pid, graceMs);
    stopped.push(instance.id);
  }
  const redisPid = state.tenantApi?.redis.pid;
  if (isAliveAs(redisPid, 'redis-server')) {
    await terminate(redisPid, graceMs);
    stopped.push('redis');
  }
  return stopped;
}
