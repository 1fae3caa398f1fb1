// @orgplane/runtime/guards: request guards for services that embed the runtime. Redis is
// the host's ioredis client (an optional peer dependency); nothing here loads it.
export { type AdapterOptions, expressMiddleware, fastifyGuards, type GuardContext, type Identify, nodeHandler } from './adapters.js';
export {
  type CacheHeaderInput,
  type CacheHeaders,
  DEFAULT_MAX_TAG_BYTES,
  etagOf,
  MAX_TAG_LENGTH,
  notModified,
  orgCacheHeaders,
} from './cacheHeaders.js';
export { type AcquireResult, ConnectionCaps, type ConnectionLease } from './connections.js';
export { type CorsDecision, CorsGuard } from './cors.js';
export {
  type Admission,
  DEFAULT_BODY_LIMIT_BYTES,
  errorReply,
  type GuardConfigSource,
  type GuardIdentity,
  type GuardReply,
  Guards,
  type GuardsOptions,
} from './Guards.js';
export { IDEMPOTENCY_KEY_MAX_LENGTH, parseIdempotencyKey, requestFingerprint, type StoredResponse } from './idempotency.js';
export type { GuardMetrics, GuardName } from './metrics.js';
export { type RateLimitDecision, RateLimiter, type RateLimitSubjectIds } from './rateLimit.js';
export { type RedisClient, RedisTimeoutError, withTimeout } from './redis.js';
