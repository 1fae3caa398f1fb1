// Wires config -> db -> services. Services get a Database and build nothing themselves,
// so each one can run its stores inside a transaction.
import pg from 'pg';
import type { Config } from './config.js';
import { Database } from './db/Database.js';
import { TokenService } from './features/auth/TokenService.js';
import { ClusterService } from './features/clusters/ClusterService.js';
import { CohortService, type CohortServiceOptions } from './features/cohorts/CohortService.js';
import { ConfigHub } from './features/config/ConfigHub.js';
import { ConfigSnapshotService } from './features/config/ConfigSnapshotService.js';
import { SnapshotCache } from './features/config/SnapshotCache.js';
import { GuardConfigService } from './features/guards/GuardConfigService.js';
import { MoveService } from './features/moves/MoveService.js';
import { RebalanceService } from './features/moves/RebalanceService.js';
import { OrgLocationReadModel } from './features/orgs/OrgLocationReadModel.js';
import { PlacementService } from './features/placements/PlacementService.js';
import { ReplicaHealthService } from './features/replica-health/ReplicaHealthService.js';
import { RolloutService, type RolloutServiceOptions } from './features/rollouts/RolloutService.js';
import { ShardMapHistoryReadModel } from './features/shard-map/ShardMapHistoryReadModel.js';
import { ShardMapService } from './features/shard-map/ShardMapService.js';
import { PrometheusClient } from './features/slo-gates/PrometheusClient.js';
import { promqlValidator } from './features/slo-gates/promqlValidator.js';
import { UnleashService } from './features/unleash/UnleashService.js';
import { SendLimiter } from './http/sendLimiter.js';
import type { Logger } from './logger.js';
import { createStores, type Stores } from './stores.js';

export interface Services {
  db: Database<Stores>;
  tokens: TokenService;
  clusters: ClusterService;
  shardMap: ShardMapService;
  history: ShardMapHistoryReadModel;
  placements: PlacementService;
  locations: OrgLocationReadModel;
  snapshots: ConfigSnapshotService;
  hub: ConfigHub;
  /** The snapshot serialized (and compressed) once per version. */
  snapshotCache: SnapshotCache;
  /** Bounds the snapshots being sent at once. */
  snapshotSends: SendLimiter;
  /** The Prometheus the SLO gates read (ORGPLANE_PROMETHEUS_URL), or null. */
  prometheus: PrometheusClient | null;
  rollouts: RolloutService;
  cohorts: CohortService;
  moves: MoveService;
  /** POST /v1/shard-map/rebalance: plans on the source, splits, and starts range moves. */
  rebalance: RebalanceService;
  unleash: UnleashService;
  replicaHealth: ReplicaHealthService;
  guards: GuardConfigService;
}

export interface ServiceOptions {
  maxBufferedDeltas?: number;
  onDelta?: (lagSeconds: number) => void;
  /** The SLO gates plug a Prometheus query validator in here. */
  rollouts?: RolloutServiceOptions;
  /** Tests and benchmarks may supply the pilot population. */
  cohorts?: CohortServiceOptions;
}

export function createPool(config: Pick<Config, 'databaseUrl'>, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: 'orgplane-control-plane',
  });
  // An idle connection that dies (DB restart) must not crash the process.
  pool.on('error', (err) => log.warn({ err }, 'control DB: an idle connection failed'));
  return pool;
}

export function createServices(config: Config, pool: pg.Pool, log: Logger, options: ServiceOptions = {}): Services {
  const db = new Database(pool, createStores);
  const snapshots = new ConfigSnapshotService(db);
  const snapshotCache = new SnapshotCache(snapshots);
  const hub = new ConfigHub({
    databaseUrl: config.databaseUrl,
    log,
    changes: db.stores.configLog,
    loadSnapshot: () => snapshotCache.current(),
    heartbeatMs: config.heartbeatMs,
    ...(options.maxBufferedDeltas === undefined ? {} : { maxBufferedDeltas: options.maxBufferedDeltas }),
    ...(options.onDelta === undefined ? {} : { onDelta: options.onDelta }),
  });
  const prometheus =
    config.prometheusUrl === null ? null : new PrometheusClient({ url: config.prometheusUrl, timeoutMs: config.prometheusTimeoutMs });
  const shardMap = new ShardMapService(db, log);
  const moves = new MoveService(db, log);
  return {
    db,
    tokens: new TokenService(db),
    clusters: new ClusterService(db),
    shardMap,
    history: new ShardMapHistoryReadModel(pool),
    placements: new PlacementService(db, log),
    locations: new OrgLocationReadModel(pool),
    snapshots,
    hub,
    snapshotCache,
    snapshotSends: new SendLimiter(config.maxSnapshotSends, config.snapshotRetryAfterSeconds),
    prometheus,
    rollouts: new RolloutService(db, { validateQuery: promqlValidator(prometheus, log), ...options.rollouts }),
    cohorts: new CohortService(db, options.cohorts),
    moves,
    rebalance: new RebalanceService(db, log, shardMap, moves),
    unleash: new UnleashService(db, () => snapshots.loadRollouts()),
    replicaHealth: new ReplicaHealthService(db),
    guards: new GuardConfigService(db),
  };
}
