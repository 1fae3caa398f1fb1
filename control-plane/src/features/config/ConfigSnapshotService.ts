import type { ConfigSnapshot, WireReplicaHealth } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import type { Stores } from '../../stores.js';
import { toWireCluster } from '../clusters/ClusterStore.js';
import { toWireRollout } from '../rollouts/Rollout.js';

export class ConfigSnapshotService {
  constructor(private readonly db: Database<Stores>) {}

  async currentVersion(): Promise<number> {
    return this.db.stores.configLog.currentVersion();
  }

  /**
   * Only the rollouts and their pilot cohorts, at one version: what the Unleash client API
   * serves, without reading every placement.
   */
  async loadRollouts(): Promise<Pick<ConfigSnapshot, 'version' | 'rollouts' | 'cohorts'>> {
    return this.db.transaction(
      async (stores) => {
        const version = await stores.configLog.currentVersion();
        const rollouts = await stores.rollouts.list();
        const cohorts = await stores.cohorts.wire(await stores.rollouts.pilotCohorts());
        return { version, rollouts: rollouts.map(toWireRollout), cohorts };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  /** Everything at one version (one repeatable-read snapshot of the DB). */
  async load(): Promise<ConfigSnapshot> {
    return this.db.transaction(
      async (stores) => {
        const version = await stores.configLog.currentVersion();
        const clusters = await stores.clusters.list();
        const ranges = await stores.ranges.list();
        const placements = await stores.placements.listAll();
        const rollouts = await stores.rollouts.list();
        // Only pilot cohorts are config; other cohorts stay in the control DB.
        const cohorts = await stores.cohorts.wire(await stores.rollouts.pilotCohorts());
        // `unknown` until the health checker has probed a replica.
        const replicas: WireReplicaHealth[] = await stores.replicaHealth.wire();
        const rateLimits = await stores.guards.listPolicies();
        const corsOrigins = await stores.guards.listOrigins();
        return {
          version,
          generatedAt: new Date().toISOString(),
          clusters: clusters.map(toWireCluster),
          ranges,
          placements,
          replicas,
          rollouts: rollouts.map(toWireRollout),
          cohorts,
          rateLimits,
          corsOrigins,
        };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }
}
