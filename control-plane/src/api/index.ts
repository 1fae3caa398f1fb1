// @orgplane/control-plane/api: the API's schemas, rules and document types, and nothing
// heavy (no fastify, no pg): the CLI imports it to check what people type against the
// same rules the control plane enforces. Every module re-exported here imports only
// typebox, @orgplane/runtime/wire and other schema modules (test/server/api.test.ts).
import type { Static } from 'typebox';
import type { AuditList } from '../features/audit/auditSchemas.js';
import type { CohortList, CohortPage, PilotSelection } from '../features/cohorts/cohortSchemas.js';
import type { Move, MoveBatch, MoveList } from '../features/moves/moveSchemas.js';
import type { RebalancePlan, RebalancePlanned, RebalanceStarted } from '../features/moves/rebalanceSchemas.js';
import type { OrgLocation } from '../features/orgs/orgSchemas.js';
import type { HealthSettingsDoc, ReplicaChange, ReplicaList } from '../features/replica-health/replicaHealthSchemas.js';
import type { Rollout, RolloutWithAnalyses } from '../features/rollouts/rolloutSchemas.js';
import type { History, RangesResult, ShardMap } from '../features/shard-map/shardMapSchemas.js';

export * from '../features/audit/auditSchemas.js';
export * from '../features/auth/tokenSchemas.js';
export * from '../features/clusters/clusterSchemas.js';
export * from '../features/cohorts/cohortSchemas.js';
export * from '../features/config/configSchemas.js';
export * from '../features/guards/guardSchemas.js';
export * from '../features/moves/moveSchemas.js';
export * from '../features/moves/rebalanceSchemas.js';
export * from '../features/orgs/orgSchemas.js';
export * from '../features/placements/placementSchemas.js';
export * from '../features/replica-health/replicaHealthSchemas.js';
export * from '../features/rollouts/rolloutSchemas.js';
export * from '../features/shard-map/shardMapSchemas.js';
export * from '../http/schemas.js';
export * from '../http/wireSchemas.js';
export * from './rules.js';

/** Documents as the API answers them (the schemas' static types). */
export type AuditListDoc = Static<typeof AuditList>;
export type CohortListDoc = Static<typeof CohortList>;
export type CohortPageDoc = Static<typeof CohortPage>;
export type PilotSelectionDoc = Static<typeof PilotSelection>;
export type MoveDoc = Static<typeof Move>;
export type MoveBatchDoc = Static<typeof MoveBatch>;
export type MoveListDoc = Static<typeof MoveList>;
export type RebalancePlanDoc = Static<typeof RebalancePlan>;
export type RebalancePlannedDoc = Static<typeof RebalancePlanned>;
export type RebalanceStartedDoc = Static<typeof RebalanceStarted>;
export type OrgLocationDoc = Static<typeof OrgLocation>;
export type RolloutDoc = Static<typeof Rollout>;
export type RolloutWithAnalysesDoc = Static<typeof RolloutWithAnalyses>;
export type ShardMapDoc = Static<typeof ShardMap>;
export type RangesResultDoc = Static<typeof RangesResult>;
export type HistoryDoc = Static<typeof History>;
export type ReplicaListDoc = Static<typeof ReplicaList>;
export type ReplicaChangeDoc = Static<typeof ReplicaChange>;
export type HealthSettingsDocument = Static<typeof HealthSettingsDoc>;
