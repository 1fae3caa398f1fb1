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
  | 'CACHE_WRITE_FAILED'
  | 'POOL_ERROR'
  | 'INVALID_ARGUMENT';

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

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value;
}
