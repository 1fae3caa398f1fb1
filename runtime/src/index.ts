// @orgplane/runtime: route each org to its cluster and follow the control plane's config.
// The public SDK API only. The wire contract is also at `@orgplane/runtime/wire`, and the
// pure rules (ownerOf, rolloutBucket) at `@orgplane/runtime/rules`.

export { COMPACT_MEDIA_TYPE, CorruptSnapshotError } from './compactSnapshot.js';
export {
  InvalidOrgIdError,
  NoRouteError,
  OrgFencedError,
  OrgMovedError,
  RuntimeError,
  type RuntimeErrorCode,
  type RuntimeErrorOptions,
} from './errors.js';
export type { WriteOptions, WriteRetryEvent, WriteRetryReason } from './fencedWrites.js';
export { claimStatement } from './ownership.js';
export type { ReadFallbackEvent, ReadFallbackReason, ReadOptions, ReadRetryEvent } from './readRouting.js';
export {
  type ConfigSource,
  type Credentials,
  createRuntime,
  type FlagErrorEvent,
  type FlagErrorReason,
  type Intent,
  Runtime,
  type RuntimeEvents,
  type RuntimeOptions,
} from './runtime.js';
export * from './wire.js';
