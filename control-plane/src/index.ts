export { BODY_LIMIT_BYTES, type BuildAppOptions, buildApp, type ControlPlane } from './app.js';
export { type Config, type LogLevel, loadConfig } from './config.js';
export { migrate, migrationsDir, type SchemaName } from './db/migrate.js';
export * from './errors.js';
// The shapes of API answers the CLI reads, so that the two cannot drift apart.
export type { AuditEntry } from './features/audit/AuditStore.js';
export { SCOPES, type Scope } from './features/auth/Actor.js';
export type { ApiTokenView } from './features/auth/ApiTokenStore.js';
export { createApiToken } from './features/auth/createApiToken.js';
export type { CreatedToken } from './features/auth/TokenService.js';
export type { CohortPage, PilotSelectResult } from './features/cohorts/CohortService.js';
export type { CohortSummary, StratumReport } from './features/cohorts/CohortStore.js';
export {
  ArrayOrgStatsSource,
  copyOrgStats,
  type OrgStats,
  type OrgStatsBatch,
  type OrgStatsSource,
} from './features/cohorts/OrgStatsSource.js';
export { type PilotSelection, selectPilot } from './features/cohorts/PilotSelector.js';
export type { OrgLocation } from './features/orgs/OrgLocationReadModel.js';
export type {
  AnalysisInput,
  AnalysisSettings,
  Rollout,
  RolloutAnalysis,
  RolloutCheck,
  RolloutStage,
  RolloutStatus,
} from './features/rollouts/Rollout.js';
export type { HistoryEntry } from './features/shard-map/ShardMapHistoryReadModel.js';
export type { RangesResult } from './features/shard-map/ShardMapService.js';
export type { GateAction } from './features/slo-gates/gateRules.js';
export { createLogger, type Logger } from './logger.js';
