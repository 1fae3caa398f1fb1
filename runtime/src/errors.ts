// One error class for everything the runtime reports; branch on `code`, never on `message`.

export type RuntimeErrorCode =
  | 'INVALID_ORG_ID'
  | 'NO_ROUTE'
  | 'NOT_READY'
  | 'CLOSED'
  | 'CLUSTER_UNKNOWN'
  | 'INVALID_CONFIG'
  | 'AUTH_FAILED'
  | 'HTTP_ERROR'
  | 'NETWORK_ERROR'
  | 'PROTOCOL_ERROR'
  | 'VERSION_GAP'
  | 'HEARTBEAT_TIMEOUT'
  | 'CACHE_CORRUPT'
  | 'SNAPSHOT_CORRUPT'
  | 'CACHE_WRITE_FAILED'
  | 'POOL_ERROR'
  | 'INVALID_ARGUMENT'
  | 'ORG_MOVED'
  | 'ORG_FENCED';

export interface RuntimeErrorOptions {
  cause?: unknown;
  /** HTTP status of the control-plane answer that caused this error, when there was one. */
  status?: number;
  hint?: string;
}

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  readonly status: number | undefined;
  readonly hint: string | undefined;

  constructor(code: RuntimeErrorCode, message: string, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.status = options.status;
    this.hint = options.hint;
  }
}

export class InvalidOrgIdError extends RuntimeError {
  constructor(orgId: unknown) {
    super('INVALID_ORG_ID', `invalid org id ${describe(orgId)}: expected an integer in 0..${Number.MAX_SAFE_INTEGER}`);
    this.name = 'InvalidOrgIdError';
  }
}

export class NoRouteError extends RuntimeError {
  constructor(orgId: number) {
    super('NO_ROUTE', `no range or placement covers org ${orgId}`, {
      hint: 'the shard map must cover 0..2^53-1; check `orgplane shards list`',
    });
    this.name = 'NoRouteError';
  }
}

/**
 * A write to `orgId` was refused with SQLSTATE OPF02 (the org moved away from `clusterId`)
 * and the runtime could not find a new owner to retry on: the refreshed map still routes
 * there, or the new owner refused too. Nothing was committed.
 */
export class OrgMovedError extends RuntimeError {
  constructor(
    readonly orgId: number,
    readonly clusterId: string,
    reason: string,
    options: { cause?: unknown; hint?: string } = {},
  ) {
    super('ORG_MOVED', `org ${orgId} has moved away from cluster ${clusterId}; ${reason}`, {
      cause: options.cause,
      hint: options.hint ?? 'the config may be stale: check that the runtime reaches the control plane, then retry',
    });
    this.name = 'OrgMovedError';
  }
}

/**
 * Writes to `orgId` stayed fenced (SQLSTATE OPF01: a move's cutover held the org) for
 * longer than the write's fence budget. Nothing was committed; retrying later is safe.
 */
export class OrgFencedError extends RuntimeError {
  constructor(
    readonly orgId: number,
    readonly clusterId: string,
    readonly waitedMs: number,
    options: { cause?: unknown } = {},
  ) {
    super('ORG_FENCED', `org ${orgId} is fenced for a move on cluster ${clusterId}; gave up after ${Math.round(waitedMs)} ms`, {
      cause: options.cause,
      hint: 'a cutover releases its fence within the move deadline; retry the write',
    });
    this.name = 'OrgFencedError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value;
}
