// The API's rules, written once: the route schemas are built from them and the CLI
// checks what people type against them. This module imports nothing but the runtime's
// wire rules, so the CLI can load it at start-up (@orgplane/control-plane/api/rules)
// without loading a schema library.
import { SCOPES, type Scope } from '../features/auth/Actor.js';
import { MOVE_STATES } from '../features/moves/Move.js';

export {
  canonicalOrigin,
  DEFAULT_TIER,
  GROUP_ID_MAX_LENGTH,
  GROUP_ID_PATTERN,
  GUARD_NAME_PATTERN,
  ORG_ID_MAX,
  ORG_ID_MIN,
  PERCENT_MAX,
  PERCENT_MIN,
  RATE_LIMIT_MAX,
  RATE_LIMIT_SUBJECTS,
  RATE_WINDOW_SECONDS_MAX,
  ROUTE_CLASS_ALL,
} from '@orgplane/runtime/wire';
export { MOVE_STATES, SCOPES, type Scope };

// shared
/** Cluster and replica ids: lowercase DNS-label-like names. */
export const RESOURCE_ID_MAX_LENGTH = 63;
export const RESOURCE_ID_PATTERN = `^[a-z0-9][a-z0-9-]{0,${RESOURCE_ID_MAX_LENGTH - 1}}$`;
export const REASON_MAX_LENGTH = 2000;
export const POSTGRES_URL_MAX_LENGTH = 4096;
/** Decimal digits as a query string carries a count or a version. */
export const DIGITS_PATTERN = '^[0-9]{1,16}$';

// tokens
export const TOKEN_NAME_MAX_LENGTH = 200;

// clusters
export const MAX_REPLICAS_PER_CLUSTER = 64;

// shard map
export const MAX_RANGES = 100_000;
export const HISTORY_LIMIT_DEFAULT = 50;
export const HISTORY_LIMIT_MAX = 1000;

// placements
export const PLACEMENTS_LIMIT_DEFAULT = 100;
export const PLACEMENTS_LIMIT_MAX = 10_000;

// audit
export const AUDIT_LIMIT_DEFAULT = 50;
export const AUDIT_LIMIT_MAX = 1000;
export const AUDIT_ACTION_MAX_LENGTH = 100;

// rollouts
/** Flag and cohort names: a letter or digit, then letters, digits, `.`, `_`, `-`. */
export const FLAG_MAX_LENGTH = 100;
export const FLAG_PATTERN = `^[A-Za-z0-9][A-Za-z0-9._-]{0,${FLAG_MAX_LENGTH - 1}}$`;
export const CHECK_NAME_MAX_LENGTH = 64;
export const CHECK_NAME_PATTERN = `^[A-Za-z0-9][A-Za-z0-9._-]{0,${CHECK_NAME_MAX_LENGTH - 1}}$`;
export const CHECK_QUERY_MAX_LENGTH = 4000;
export const CHECK_OPS = ['<', '<=', '>', '>='] as const;
export const NO_DATA_POLICIES = ['pass', 'fail', 'hold'] as const;
export const ROLLOUT_STATUSES = ['running', 'paused', 'killed', 'completed', 'rolled_back'] as const;
/** 30 days. */
export const MIN_DWELL_SECONDS_MAX = 2_592_000;
export const MAX_STAGES = 20;
export const MAX_CHECKS_PER_STAGE = 20;
export const ANALYSIS_BOUNDS = {
  intervalSeconds: { minimum: 1, maximum: 86_400 },
  failureLimit: { minimum: 1, maximum: 1000 },
  minSamples: { minimum: 0, maximum: 1000 },
} as const;
export const DESCRIPTION_MAX_LENGTH = 2000;
export const ANALYSES_LIMIT_DEFAULT = 50;
export const ANALYSES_LIMIT_MAX = 1000;

// cohorts and pilots
export const MAX_PILOT_COUNT = 1_000_000;
export const MAX_PILOT_EXCLUSIONS = 10_000_000;
export const COHORT_PAGE_LIMIT_DEFAULT = 1000;
export const COHORT_PAGE_LIMIT_MAX = 100_000;

// moves
export const MAX_ORGS_PER_MOVE = 100_000;
export const MOVE_CONCURRENCY = { minimum: 1, maximum: 32 } as const;
/** Parallel COPY streams of a range move's bulk copy: bounded so the source is not starved. */
export const COPY_STREAMS = { minimum: 1, maximum: 16 } as const;
export const FENCE_DEADLINE_MS = { minimum: 50, maximum: 10_000 } as const;
/** A week. */
export const GRACE_SECONDS = { minimum: 0, maximum: 604_800 } as const;
export const MOVES_LIMIT_DEFAULT = 100;
export const MOVES_LIMIT_MAX = 1000;
/** What a rebalance's percent is a share of. */
export const REBALANCE_BY = ['orgs', 'rows'] as const;
export type RebalanceBy = (typeof REBALANCE_BY)[number];
