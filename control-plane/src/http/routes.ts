// Every route of the control plane, registered in one place: buildApp serves them, and
// apiDocument.ts registers the same ones (without a database) to write the OpenAPI document.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Services } from '../factory.js';
import { registerAuditRoutes } from '../features/audit/auditRoutes.js';
import { registerTokenRoutes } from '../features/auth/tokenRoutes.js';
import { registerClusterRoutes } from '../features/clusters/clusterRoutes.js';
import { registerCohortRoutes } from '../features/cohorts/cohortRoutes.js';
import { registerConfigRoutes } from '../features/config/configRoutes.js';
import { registerGuardRoutes } from '../features/guards/guardRoutes.js';
import { registerHealthRoutes } from '../features/health/healthRoutes.js';
import type { Metrics } from '../features/health/Metrics.js';
import { registerMoveRoutes } from '../features/moves/moveRoutes.js';
import { registerRebalanceRoutes } from '../features/moves/rebalanceRoutes.js';
import { registerOrgRoutes } from '../features/orgs/orgRoutes.js';
import { registerPlacementRoutes } from '../features/placements/placementRoutes.js';
import { registerReplicaHealthRoutes } from '../features/replica-health/replicaHealthRoutes.js';
import { registerRolloutRoutes } from '../features/rollouts/rolloutRoutes.js';
import { registerShardMapRoutes } from '../features/shard-map/shardMapRoutes.js';
import { registerUnleashRoutes } from '../features/unleash/unleashRoutes.js';
import { registerOpenApi } from './openapi.js';

export interface RouteDeps {
  pool: pg.Pool;
  services: Services;
  metrics: Metrics;
}

/** Fastify's request validator: no coercion, nothing removed, every issue reported. */
export const AJV_OPTIONS = {
  customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, allowUnionTypes: true },
} as const;

export async function registerRoutes(app: FastifyInstance, { pool, services, metrics }: RouteDeps): Promise<void> {
  // First: the OpenAPI document is collected as routes register.
  await registerOpenApi(app);
  registerHealthRoutes(app, { pool, hub: services.hub, metrics });
  registerTokenRoutes(app, services.tokens);
  registerClusterRoutes(app, services.clusters);
  registerShardMapRoutes(app, services.shardMap, services.history);
  registerPlacementRoutes(app, services.placements);
  registerOrgRoutes(app, services.locations);
  registerAuditRoutes(app, services.db.stores.audit);
  registerConfigRoutes(app, services.snapshotCache, services.hub, services.snapshotSends);
  registerRolloutRoutes(app, services.rollouts);
  registerCohortRoutes(app, services.cohorts);
  registerMoveRoutes(app, services.moves);
  registerRebalanceRoutes(app, services.rebalance);
  registerUnleashRoutes(app, services.unleash);
  registerReplicaHealthRoutes(app, services.replicaHealth);
  registerGuardRoutes(app, services.guards);
}
