// The runtime's wire types (runtime/src/wire.ts) as schemas, for the responses that carry
// them. The runtime owns the contract and keeps no schema library; the type checks at the
// bottom fail the build when these and wire.ts disagree.
import {
  type ConfigDelta,
  type ConfigSnapshot,
  GROUP_ID_PATTERN,
  GUARD_NAME_PATTERN,
  RATE_LIMIT_MAX,
  RATE_WINDOW_SECONDS_MAX,
  type WireCluster,
  type WireCohort,
  type WirePlacement,
  type WireRange,
  type WireRateLimitPolicy,
  type WireReplicaHealth,
  type WireRollout,
} from '@orgplane/runtime/wire';
import { type Static, Type } from 'typebox';
import { Doc, Nullable, OrgId, Percent, ResourceId, Timestamp, Version } from './schemas.js';

export const ClusterState = Type.Enum(['active', 'draining', 'retired']);
export const PlacementState = Type.Enum(['active', 'fenced', 'moved']);
export const ReplicaHealthState = Type.Enum(['unknown', 'healthy', 'lagging', 'unhealthy', 'unreachable', 'draining']);

/** A cluster connection URL as the API shows it: never with a password. */
export const RedactedPostgresUrl = Type.String({ description: 'A Postgres URL without its password.' });

export const WireReplicaSchema = Doc({ id: ResourceId, url: RedactedPostgresUrl });
export const WireClusterSchema = Doc(
  {
    id: ResourceId,
    state: ClusterState,
    primary: Doc({ url: RedactedPostgresUrl }),
    replicas: Type.Array(WireReplicaSchema),
  },
  { description: 'WireCluster' },
);
export const WireRangeSchema = Doc(
  { lo: OrgId, hi: OrgId, clusterId: ResourceId },
  { description: 'WireRange: the inclusive org-id range [lo, hi] served by one cluster.' },
);
export const WirePlacementSchema = Doc(
  { orgId: OrgId, clusterId: ResourceId, state: PlacementState, epoch: Type.Integer({ minimum: 1 }) },
  { description: 'WirePlacement: a per-org pin that overrides the range.' },
);
export const WireReplicaHealthSchema = Doc(
  {
    id: ResourceId,
    clusterId: ResourceId,
    state: ReplicaHealthState,
    lagSeconds: Nullable(Type.Number()),
    lagBytes: Nullable(Type.Number()),
    checkedAt: Nullable(Timestamp),
  },
  { description: 'WireReplicaHealth: a replica as runtimes route by it; only `healthy` ones take reads.' },
);
export const WireRolloutSchema = Doc(
  {
    flag: Type.String({ minLength: 1 }),
    groupId: Type.String({ pattern: GROUP_ID_PATTERN }),
    enabled: Type.Boolean(),
    percent: Percent,
    pilotCohort: Nullable(Type.String()),
  },
  { description: 'WireRollout: a rollout as runtimes evaluate it.' },
);
export const WireCohortSchema = Doc(
  { name: Type.String({ minLength: 1 }), orgIds: Type.Array(OrgId) },
  { description: 'WireCohort: a pilot cohort, sorted.' },
);

export const GuardName = Type.String({ pattern: GUARD_NAME_PATTERN, description: 'Lowercase letters, digits, `_`, `-`.' });
export const RateLimitSubject = Type.Enum(['org', 'user'], { description: "What is counted: an org's requests, or one user's." });
export const RateLimit = Type.Integer({ minimum: 1, maximum: RATE_LIMIT_MAX, description: 'Requests per window.' });
export const RateWindowSeconds = Type.Integer({ minimum: 1, maximum: RATE_WINDOW_SECONDS_MAX, description: 'The window, in seconds.' });
export const RateBurst = Type.Integer({ minimum: 1, maximum: RATE_LIMIT_MAX, description: 'Requests allowed at once (GCRA burst).' });
export const WireRateLimitPolicySchema = Doc(
  {
    tier: Nullable(GuardName),
    orgId: Nullable(OrgId),
    subject: RateLimitSubject,
    routeClass: GuardName,
    limit: RateLimit,
    windowSeconds: RateWindowSeconds,
    burst: RateBurst,
    shadow: Type.Boolean(),
  },
  { description: "WireRateLimitPolicy: a tier's default (tier set) or an org's override (orgId set)." },
);
export const CorsOrigin = Type.String({ description: 'A canonical origin: scheme://host[:port], lowercase.' });

export const ConfigDeltaSchema = Doc(
  {
    version: Version,
    action: Type.String(),
    clusters: Type.Optional(Type.Array(WireClusterSchema)),
    ranges: Type.Optional(Type.Array(WireRangeSchema)),
    placements: Type.Optional(Doc({ upsert: Type.Array(WirePlacementSchema), remove: Type.Array(OrgId) })),
    rollouts: Type.Optional(Type.Array(WireRolloutSchema)),
    cohorts: Type.Optional(Doc({ upsert: Type.Array(WireCohortSchema), remove: Type.Array(Type.String()) })),
    replicas: Type.Optional(Type.Array(WireReplicaHealthSchema)),
    rateLimits: Type.Optional(Type.Array(WireRateLimitPolicySchema)),
    corsOrigins: Type.Optional(Type.Array(CorsOrigin)),
  },
  { description: 'ConfigDelta: one committed change; a part is present only when it changed.' },
);

export const ConfigSnapshotSchema = Doc(
  {
    version: Version,
    generatedAt: Timestamp,
    clusters: Type.Array(WireClusterSchema),
    ranges: Type.Array(WireRangeSchema),
    placements: Type.Array(WirePlacementSchema),
    replicas: Type.Array(WireReplicaHealthSchema),
    rollouts: Type.Array(WireRolloutSchema),
    cohorts: Type.Array(WireCohortSchema),
    rateLimits: Type.Optional(Type.Array(WireRateLimitPolicySchema)),
    corsOrigins: Type.Optional(Type.Array(CorsOrigin)),
  },
  { description: 'ConfigSnapshot: the whole configuration at one version.' },
);

// Both directions: a schema that drops or adds a field of wire.ts does not compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree = <T extends true>(): T => true as T;
agree<Same<Static<typeof WireClusterSchema>, WireCluster>>();
agree<Same<Static<typeof WireRangeSchema>, WireRange>>();
agree<Same<Static<typeof WirePlacementSchema>, WirePlacement>>();
agree<Same<Static<typeof WireReplicaHealthSchema>, WireReplicaHealth>>();
agree<Same<Static<typeof WireRolloutSchema>, WireRollout>>();
agree<Same<Static<typeof WireCohortSchema>, WireCohort>>();
agree<Same<Static<typeof WireRateLimitPolicySchema>, WireRateLimitPolicy>>();
agree<Same<Static<typeof ConfigDeltaSchema>, ConfigDelta>>();
agree<Same<Static<typeof ConfigSnapshotSchema>, ConfigSnapshot>>();
