// A fresh lab: ports and a password, initdb (replicas copied from their never-started
// primaries), start, migrate, seed, mint the admin token, start and configure the control plane.
import { randomBytes } from 'node:crypto';
import { createApiToken } from '@orgplane/control-plane';
import { freePort, migrate } from '@orgplane/control-plane/embedded';
import { clusterId, type LabConfig, orgBlocks, replicaId } from './config.js';
import { controlPlaneUrl } from './controlPlaneProcess.js';
import { CONTROL_DB, ensureDatabase, type Fleet, fleetOf, initFleet, serversOf, startStopped, TENANT_DB } from './fleet.js';
import { finish, guard, type Launched, startControlPlane } from './launch.js';
import type { Progress } from './progress.js';
import { registerFleet } from './register.js';
import { seedOrgs } from './seed.js';
import { CONTROL_DB_ID, CONTROL_PLANE_ID, type LabState, writeState } from './state.js';
import { statusOf } from './status.js';
import type { LabUpResult } from './up.js';

export async function createLab(dir: string, config: LabConfig, main: string, progress: Progress): Promise<LabUpResult> {
  const ports = await uniqueFreePorts(2 + config.clusters * (1 + config.replicas));
  const port = () => ports.pop()!;
  const state: LabState = {
    version: 1,
    phase: 'creating',
    createdAt: new Date().toISOString(),
    ...config,
    password: randomBytes(16).toString('hex'),
    controlDb: { id: CONTROL_DB_ID, port: port() },
    controlPlane: { port: port(), pid: null, token: null, tokenId: null },
    fleet: Array.from({ length: config.clusters }, (_, i) => {
      const id = clusterId(i + 1);
      return {
        id,
        port: port(),
        replicas: Array.from({ length: config.replicas }, (_, m) => ({ id: replicaId(id, m + 1), port: port() })),
      };
    }),
  };
  await writeState(dir, state);
  const fleet = fleetOf(dir, state);
  const launched: Launched = { servers: [], controlPlanePid: null };
  return guard(dir, launched, true, progress, async () => {
    progress(`creating ${serversOf(fleet).length} Postgres servers in ${dir}`);
    await initFleet(fleet);
    progress('starting Postgres');
    const started = await startStopped(serversOf(fleet), launched.servers);
    progress('creating databases and tables');
    await migrateAll(fleet);
    progress(`seeding ${config.orgs} orgs`);
    await seedAll(fleet, config, progress);
    const { id: tokenId, token } = await createApiToken(fleet.controlDb.url(CONTROL_DB), { name: 'lab-admin', scope: 'admin' });
    state.controlPlane = { ...state.controlPlane, token, tokenId };
    await writeState(dir, state);
    await startControlPlane(dir, state, fleet, main, launched, progress);
    progress('registering clusters and the shard map');
    await registerFleet(
      controlPlaneUrl(state.controlPlane.port),
      token,
      fleet.clusters.map((c) => ({
        id: c.id,
        primaryUrl: c.primary.url(TENANT_DB),
        replicas: c.replicas.map((r) => ({ id: r.id, url: r.server.url(TENANT_DB) })),
      })),
      orgBlocks(config.orgs, config.clusters),
    );
    await finish(dir, state, fleet, progress);
    state.phase = 'ready';
    await writeState(dir, state);
    progress('the lab is up');
    return { ...(await statusOf(dir, state)), alreadyRunning: false, started: [...started, CONTROL_PLANE_ID] };
  });
}

async function migrateAll(fleet: Fleet): Promise<void> {
  const control = async () => {
    await ensureDatabase(fleet.controlDb, CONTROL_DB);
    await migrate(fleet.controlDb.url(CONTROL_DB), 'control-plane');
  };
  const tenants = fleet.clusters.map(async (c) => {
    await ensureDatabase(c.primary, TENANT_DB);
    await migrate(c.primary.url(TENANT_DB), 'tenant');
  });
  await Promise.all([control(), ...tenants]);
}

async function seedAll(fleet: Fleet, config: LabConfig, progress: Progress): Promise<void> {
  const blocks = orgBlocks(config.orgs, config.clusters);
  await Promise.all(
    fleet.clusters.map(async (c, i) => {
      const block = blocks[i]!;
      if (block.firstOrg === null || block.lastOrg === null) return;
      const last = block.lastOrg;
      await seedOrgs(c.primary.url(TENANT_DB), block.firstOrg, last, {
        onBatch: (through) => progress(`${c.id}: seeded orgs ${block.firstOrg}..${through} of ..${last}`),
      });
    }),
  );
}

async function uniqueFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
