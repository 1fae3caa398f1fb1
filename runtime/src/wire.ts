// The wire contract between the control plane and every runtime. The runtime owns it
// (DESIGN.md): the control plane imports these types, never the other way round.
// Additive changes only; a breaking change needs a new endpoint version.

/** Org ids are non-negative integers that JavaScript represents exactly. */
export const ORG_ID_MIN = 0;
export const ORG_ID_MAX = Number.MAX_SAFE_INTEGER;

/** Rollout percents are whole numbers 0..100. */
export const PERCENT_MIN = 0;
export const PERCENT_MAX = 100;

/**
 * A rollout's Unleash groupId: 1..GROUP_ID_MAX_LENGTH characters of [A-Za-z0-9._:-].
 * The runtime refuses a config that breaks it, and the control plane refuses to store one.
 */
export const GROUP_ID_MAX_LENGTH = 100;
export const GROUP_ID_PATTERN = `^[A-Za-z0-9._:-]{1,${GROUP_ID_MAX_LENGTH}}$`;

export type ClusterState = 'active' | 'draining' | 'retired';
export type PlacementState = 'active' | 'fenced' | 'moved';
/**
 * `healthy` replicas serve reads; every other state keeps a replica out of rotation.
 * `draining` is set by an operator (`orgplane replicas drain`), the others by the
 * control plane's health checker; `unknown` until it has probed.
 */
export type ReplicaHealthState = 'unknown' | 'healthy' | 'lagging' | 'unhealthy' | 'unreachable' | 'draining';
export const REPLICA_HEALTH_STATES: readonly ReplicaHealthState[] = [
  'unknown',
  'healthy',
  'lagging',
  'unhealthy',
  'unreachable',
  'draining',
];

/** A Postgres endpoint. `url` never carries a password: the host supplies credentials. */
export interface WireEndpoint {
  url: string;
}

export interface WireReplica {
  id: string;
  url: string;
}

export interface WireCluster {
  id: string;
  state: ClusterState;
  primary: WireEndpoint;
  replicas: WireReplica[];
}

/** An inclusive org-id range [lo, hi] served by one cluster. */
export interface WireRange {
  lo: number;
  hi: number;
  clusterId: string;
}

/** A per-org pin that overrides the range. */
export interface WirePlacement {
  orgId: number;
  clusterId: string;
  state: PlacementState;
  epoch: number;
}

/** Replica health as last probed; `unknown` until a health checker reports. */
export interface WireReplicaHealth {
  id: string;
  clusterId: string;
  state: ReplicaHealthState;
  lagSeconds: number | null;
  lagBytes: number | null;
  checkedAt: string | null;
}

/** `GET /v1/config`: the whole configuration at one version. */
export interface ConfigSnapshot {
  version: number;
  generatedAt: string;
  clusters: WireCluster[];
  ranges: WireRange[];
  placements: WirePlacement[];
  replicas: WireReplicaHealth[];
  rollouts: WireRollout[];
  /** Only cohorts that some rollout names as its pilot; others stay in the control DB. */
  cohorts: WireCohort[];
  /** Request guards' rate-limit policies (absent from control planes that predate them). */
  rateLimits?: WireRateLimitPolicy[];
  /** The CORS allow-list: canonical origins (`canonicalOrigin`), sorted. */
  corsOrigins?: string[];
}

/**
 * A rollout as the runtime evaluates it: the effective state, not the stage plan.
 * `isEnabled(flag, {orgId})` is:
 *   enabled && (orgId in cohort `pilotCohort` || (percent > 0 && bucket(groupId, orgId) <= percent))
 * where bucket is Unleash's flexibleRollout normalisation:
 *   murmur3_x86_32(`${groupId}:${orgId}`, seed 0) % 100 + 1   (orgId in decimal).
 * `enabled: false` (the kill switch, or a rollout rolled back past its first stage)
 * turns the flag off for every org, pilot members included.
 */
export interface WireRollout {
  flag: string;
  /** Unleash groupId (GROUP_ID_PATTERN); defaults to the flag name. */
  groupId: string;
  enabled: boolean;
  /** Integer PERCENT_MIN..PERCENT_MAX. */
  percent: number;
  pilotCohort: string | null;
}

/** A named set of orgs (a pilot cohort). */
export interface WireCohort {
  name: string;
  /** Sorted ascending, no duplicates. */
  orgIds: number[];
}

/**
 * One committed change, as a delta against version - 1. A field is present only when
 * that part changed; `clusters` and `ranges` are then the complete new lists (they are
 * small), placements are incremental (there may be millions).
 */
export interface ConfigDelta {
  version: number;
  action: string;
  clusters?: WireCluster[];
  ranges?: WireRange[];
  placements?: { upsert: WirePlacement[]; remove: number[] };
  /** The complete new list of rollouts (they are few). */
  rollouts?: WireRollout[];
  /** Cohorts are incremental: a cohort can hold 100,000 orgs. */
  cohorts?: { upsert: WireCohort[]; remove: string[] };
  /**
   * The complete new list of replica health (a replica's state changed, one was drained,
   * added or removed). Lag figures in it are as of the change; they are not versioned.
   */
  replicas?: WireReplicaHealth[];
  /** The complete new list of rate-limit policies. */
  rateLimits?: WireRateLimitPolicy[];
  /** The complete new CORS allow-list. */
  corsOrigins?: string[];
}

/** What a rate limit counts: all requests of an org, or those of one user in an org. */
export type RateLimitSubject = 'org' | 'user';
export const RATE_LIMIT_SUBJECTS: readonly RateLimitSubject[] = ['org', 'user'];
/** The route class that counts every route of the service together. */
export const ROUTE_CLASS_ALL = 'all';
/** Tier and route-class names: lowercase letters, digits, `_`, `-`. */
export const GUARD_NAME_MAX_LENGTH = 63;
export const GUARD_NAME_PATTERN = `^[a-z0-9][a-z0-9_-]{0,${GUARD_NAME_MAX_LENGTH - 1}}$`;
/** The tier whose policies apply when an org's own tier has none. */
export const DEFAULT_TIER = 'default';
export const RATE_LIMIT_MAX = 1_000_000_000;
/** One day. */
export const RATE_WINDOW_SECONDS_MAX = 86_400;
export const CORS_ORIGINS_MAX = 1000;
export const ORIGIN_MAX_LENGTH = 253 + 16;

/**
 * A GCRA limit: `limit` requests per `windowSeconds`, of which up to `burst` may come at
 * once. Exactly one of `tier` (a tier's default) and `orgId` (one org's override) is set.
 * For a request of org O (tier T), user U and route class C the guard applies, for each
 * subject and for each of C and `all`: O's override, else T's policy, else `default`'s.
 */
export interface WireRateLimitPolicy {
  tier: string | null;
  orgId: number | null;
  subject: RateLimitSubject;
  routeClass: string;
  limit: number;
  windowSeconds: number;
  burst: number;
  /** Decide and count, but never refuse (a new limit watched before it bites). */
  shadow: boolean;
}

/**
 * The canonical form of a browser Origin (`scheme://host[:port]`, lowercase, default port
 * dropped), or null when `text` is not exactly one: no path, query, user or wildcard.
 */
export function canonicalOrigin(text: unknown): string | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > ORIGIN_MAX_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '') return null;
  if (!/^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])$/.test(url.hostname)) return null;
  // Nothing after the authority: not even the `/` that URL would add.
  return /^https?:\/\/[^/?#\\]+$/i.test(text) ? url.origin : null;
}

/**
 * `GET /v1/config/watch?since=N` is a text/event-stream of these events:
 * - `snapshot`: data is a ConfigSnapshot (sent when the client is too far behind,
 *   ahead of the server, or has no version);
 * - `change`: data is a ConfigDelta, with `id: <version>`, in version order;
 * - `heartbeat`: data is a WatchHeartbeat, at least every 15 s.
 * A reconnecting client may send `Last-Event-ID` instead of `since`. With
 * `&format=compact` a snapshot comes as `compact-snapshot` instead: data is the base64 of
 * the gzipped compact snapshot (compactSnapshot.ts; about a twentieth of the JSON's bytes).
 */
export type WatchEventName = 'snapshot' | 'compact-snapshot' | 'change' | 'heartbeat';

export interface WatchHeartbeat {
  version: number;
  time: string;
}

/** Every error response body. `code` is stable; branch on it, never on `message`. */
export interface WireError {
  error: {
    code: string;
    message: string;
    hint?: string;
    errorId?: string;
    details?: unknown;
  };
}

/**
 * SQLSTATEs that a tenant cluster raises for writes to an org in a move
 * (migrations/tenant/1764000000000_move-capture.sql). Writers recognise them by code.
 */
export const SQLSTATE_ORG_FENCED = 'OPF01';
/** The org has moved to another cluster: refresh the map, retry once on the new owner. */
export const SQLSTATE_ORG_MOVED = 'OPF02';

/** True for an org id the shard map can hold. */
export function isValidOrgId(orgId: unknown): orgId is number {
  return typeof orgId === 'number' && Number.isSafeInteger(orgId) && orgId >= ORG_ID_MIN;
}
