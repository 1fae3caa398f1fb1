// Every store, bound to one Queryable (the pool, or a transaction's client).
import type { Queryable } from './db/Database.js';
import { AuditStore } from './features/audit/AuditStore.js';
import { ApiTokenStore } from './features/auth/ApiTokenStore.js';
import { ClusterStore } from './features/clusters/ClusterStore.js';
import { CohortStore } from './features/cohorts/CohortStore.js';
import { ConfigLogStore } from './features/config/ConfigLogStore.js';
import { GuardConfigStore } from './features/guards/GuardConfigStore.js';
import { MoveBatchStore } from './features/moves/MoveBatchStore.js';
import { MoveStore } from './features/moves/MoveStore.js';
import { PlacementStore } from './features/placements/PlacementStore.js';
import { ReplicaHealthStore } from './features/replica-health/ReplicaHealthStore.js';
import { RolloutAnalysisStore } from './features/rollouts/RolloutAnalysisStore.js';
import { RolloutStore } from './features/rollouts/RolloutStore.js';
import { RangeStore } from './features/shard-map/RangeStore.js';
import { UnleashClientStore } from './features/unleash/UnleashClientStore.js';
import { UnleashImportStore } from './features/unleash/UnleashImportStore.js';

export interface Stores {
  audit: AuditStore;
  tokens: ApiTokenStore;
  clusters: ClusterStore;
  ranges: RangeStore;
  placements: PlacementStore;
  configLog: ConfigLogStore;
  replicaHealth: ReplicaHealthStore;
  rollouts: RolloutStore;
  rolloutAnalyses: RolloutAnalysisStore;
  cohorts: CohortStore;
  moves: MoveStore;
  moveBatches: MoveBatchStore;
  unleashImport: UnleashImportStore;
  unleashClients: UnleashClientStore;
  guards: GuardConfigStore;
}

export function createStores(db: Queryable): Stores {
  return {
    audit: new AuditStore(db),
    tokens: new ApiTokenStore(db),
    clusters: new ClusterStore(db),
    ranges: new RangeStore(db),
    placements: new PlacementStore(db),
    configLog: new ConfigLogStore(db),
    replicaHealth: new ReplicaHealthStore(db),
    rollouts: new RolloutStore(db),
    rolloutAnalyses: new RolloutAnalysisStore(db),
    cohorts: new CohortStore(db),
    moves: new MoveStore(db),
    moveBatches: new MoveBatchStore(db),
    unleashImport: new UnleashImportStore(db),
    unleashClients: new UnleashClientStore(db),
    guards: new GuardConfigStore(db),
  };
}
