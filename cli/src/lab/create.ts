// A fresh lab: ports and a password, initdb (replicas copied from their never-started
// primaries), start, migrate, seed, mint the admin token, start and configure the control
// plane, start Prometheus.
import { randomBytes } from 'node:crypto';
import { migrate } from '@orgplane/control-plane';
import { createApiToken } from '@orgplane/control-plane/tokens';
import { freePort } from '@orgplane/embedded';
import { clusterId, type LabConfig, orgBlocks, replicaId, replicationSlotName } from './config.js';
import { controlPlaneUrl } from './controlPlaneProcess.js';
import { CONTROL_DB, ensureDatabase, type Fleet, fleetOf, initFleet, primariesOf, replicasOf, TENANT_DB } from './fleet.js';
import { catchUpSteps, guard, nothingLaunched, saveContext, startControlPlane, startPostgresSteps, startPrometheusStep } from './launch.js';
import { registerFleet } from './register.js';
import { seedOrgs } from './seed.js';
import { CONTROL_DB_ID, CONTROL_PLANE_ID, type LabState, labPaths, writeState } from './state.js';
import { statusOf } from './status.js';
import { logged, logTo, type StepReport, type StepRunner } from './steps.js';
import { startTenantApiStep } from './tenantApiProcess.js';
import type { LabUpResult } from './up.js';

export async function createLab(dir: string, config: LabConfig, main: string, runSteps: StepRunner): Promise<LabUpResult> {
  const ports = await uniqueFreePorts(3 + config.clusters * (1 + config.replicas));
  const port = () => ports.pop()!;
  const state: LabState = {
    version: 1,
    phase: 'creating',
    createdAt: new Date().toISOString(),
    ...config,
    password: randomBytes(16).toString('hex'),
    controlDb: { id: CONTROL_DB_ID, port: port() },
    controlPlane: { port: port(), pid: null, token: null, tokenId: null },
    prometheus: { port: port(), pid: null, tokenId: null },
    fleet: Array.from({ length: config.clusters }, (_, i) => {
      const id = clusterId(i + 1);
      return {
        id,
        port: port(),
        replicas: Array.from({ length: config.replicas }, (_, m) => {
          const rid = replicaId(id, m + 1);
          return { id: rid, port: port(), replicationSlot: replicationSlotName(rid) };
        }),
      };
    }),
  };
  await writeState(dir, state);
  const fleet = fleetOf(dir, state);
  const launched = nothingLaunched();
  const log = logTo(labPaths(dir).labLog);
  const servers = primariesOf(fleet).length + replicasOf(fleet).length;
  return guard(dir, launched, true, log, async () => {
    await runSteps(
      logged(
        [
          { title: `Create ${servers} Postgres servers`, run: () => initFleet(fleet) },
          ...startPostgresSteps(fleet, launched),
          { title: 'Create the databases and tables', run: () => migrateAll(fleet) },
          { title: `Seed ${config.orgs} orgs`, run: (report) => seedAll(fleet, config, report) },
          {
            title: 'Start the control plane',
            async run() {
              const { id: tokenId, token } = await createApiToken(fleet.controlDb.url(CONTROL_DB), { name: 'lab-admin', scope: 'admin' });
              state.controlPlane = { ...state.controlPlane, token, tokenId };
              await writeState(dir, state);
              await startControlPlane(dir, state, fleet, main, launched);
              launched.ids.push(CONTROL_PLANE_ID);
            },
          },
          startPrometheusStep(dir, state, fleet, launched),
          { title: 'Register the clusters and the shard map', run: () => register(state, fleet) },
          startTenantApiStep(dir, state, fleet, launched),
          ...catchUpSteps(fleet),
        ],
        log,
      ),
    );
    await saveContext(dir, state);
    state.phase = 'ready';
    await writeState(dir, state);
    log('the lab is up');
    return { ...(await statusOf(dir, state)), alreadyRunning: false, started: launched.ids };
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

/** Every cluster seeds its block in parallel; the report counts orgs over all of them. */
async function seedAll(fleet: Fleet, config: LabConfig, report: StepReport): Promise<void> {
  const blocks = orgBlocks(config.orgs, config.clusters);
  let seeded = 0;
  await Promise.all(
    fleet.clusters.map(async (c, i) => {
      const { firstOrg, lastOrg } = blocks[i]!;
      if (firstOrg === null || lastOrg === null) return;
      let done = firstOrg - 1;
      await seedOrgs(c.primary.url(TENANT_DB), firstOrg, lastOrg, {
        onBatch: (through) => {
          seeded += through - done;
          done = through;
          report.output(`${seeded} of ${config.orgs} orgs (${c.id} through org ${through} of ${firstOrg}..${lastOrg})`);
        },
      });
    }),
  );
}

async function register(state: LabState, fleet: Fleet): Promise<void> {
  await registerFleet(
    controlPlaneUrl(state.controlPlane.port),
    state.controlPlane.token!,
    fleet.clusters.map((c) => ({
      id: c.id,
      primaryUrl: c.primary.url(TENANT_DB),
      replicas: c.replicas.map((r) => ({ id: r.id, url: r.server.url(TENANT_DB) })),
    })),
    orgBlocks(state.orgs, state.clusters),
  );
}

async function uniqueFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
