// Every store, bound to one Queryable (the pool, or a transaction's client).
import type { Queryable } from './db/Database.js';
import { AuditStore } from './features/audit/AuditStore.js';
import { ApiTokenStore } from './features/auth/ApiTokenStore.js';
import { ClusterStore } from './features/clusters/ClusterStore.js';
import { ConfigLogStore } from './features/config/ConfigLogStore.js';
import { MoveBatchStore } from './features/moves/MoveBatchStore.js';
import { MoveStore } from './features/moves/MoveStore.js';
import { PlacementStore } from './features/placements/PlacementStore.js';
import { RangeStore } from './features/shard-map/RangeStore.js';

export interface Stores {
  audit: AuditStore;
  tokens: ApiTokenStore;
  clusters: ClusterStore;
  ranges: RangeStore;
  placements: PlacementStore;
  configLog: ConfigLogStore;
  moves: MoveStore;
  moveBatches: MoveBatchStore;
}

export function createStores(db: Queryable): Stores {
  return {
    audit: new AuditStore(db),
    tokens: new ApiTokenStore(db),
    clusters: new ClusterStore(db),
    ranges: new RangeStore(db),
    placements: new PlacementStore(db),
    configLog: new ConfigLogStore(db),
    moves: new MoveStore(db),
    moveBatches: new MoveBatchStore(db),
  };
}
