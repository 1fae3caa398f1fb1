// @orgplane/runtime: route each org to its cluster and follow the control plane's config.
export {
  backoffDelayMs,
  ConfigClient,
  type ConfigClientHandlers,
  type ConfigClientOptions,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_CAP_MS,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
} from './configClient.js';
export { CACHE_FILE_NAME, type CacheImage, DiskCache, type DiskCacheOptions } from './diskCache.js';
export {
  InvalidOrgIdError,
  NoRouteError,
  OrgFencedError,
  OrgMovedError,
  RuntimeError,
  type RuntimeErrorCode,
  type RuntimeErrorOptions,
} from './errors.js';
export {
  DEFAULT_FENCE_WAIT_MS,
  DEFAULT_REFRESH_TIMEOUT_MS,
  sqlStateOf,
  type WriteOptions,
  type WriteRetryEvent,
  type WriteRetryReason,
} from './fencedWrites.js';
export { FlagSet, murmur3_x86_32, rolloutBucket, UNKNOWN_FLAG } from './flags.js';
export { type ConfigSource, createRuntimeMetrics, type RuntimeMetrics, type RuntimeMetricsState } from './metrics.js';
export { linearRoute, type PinsExport, PLACEMENT_STATES, Router } from './router.js';
export {
  type Credentials,
  connectionWithCredentials,
  createRuntime,
  type Intent,
  Runtime,
  type RuntimeEvents,
  type RuntimeOptions,
} from './runtime.js';
export { type SseEvent, SseParser } from './sseParser.js';
export * from './wire.js';
