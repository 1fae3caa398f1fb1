// One error class per outcome. Every class carries a stable `code` (clients branch on
// it), the HTTP status, a message written for the user and, where we know one, a hint
// saying what to try next. One handler (registerErrorHandler) turns them into
// `{"error": {...}}`; anything else becomes 500 INTERNAL with an id that is also logged.
import { randomUUID } from 'node:crypto';
import type { WireError } from '@orgplane/runtime/wire';
import type { FastifyError, FastifyInstance } from 'fastify';

export interface ErrorOptions {
  hint?: string;
  details?: unknown;
  cause?: unknown;
}

export class AppError extends Error {
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details;
  }

  toWire(errorId?: string): WireError {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.hint === undefined ? {} : { hint: this.hint }),
        ...(errorId === undefined ? {} : { errorId }),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** One field that failed validation: `field` is a path such as `ranges[0].lo`. */
export interface FieldIssue {
  field: string;
  message: string;
}

export class InvalidInputError extends AppError {
  constructor(message: string, options: ErrorOptions & { details?: FieldIssue[] } = {}) {
    super('INVALID_INPUT', 400, message, options);
  }
}

export class MalformedJsonError extends AppError {
  constructor(message = 'the request body is not valid JSON') {
    super('MALFORMED_JSON', 400, message, { hint: 'send a JSON document with Content-Type: application/json' });
  }
}

export class InvalidOrgIdError extends AppError {
  constructor(field: string, value: unknown) {
    super('INVALID_ORG_ID', 400, `${field} must be an integer in 0..${Number.MAX_SAFE_INTEGER}, got ${describe(value)}`, {
      hint: 'org ids are non-negative integers no larger than 2^53-1',
      details: { field },
    });
  }
}

export class InvalidRangesError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('INVALID_RANGES', 400, message, options);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super('UNAUTHORIZED', 401, message, { hint: 'send Authorization: Bearer <token> with a token that is not revoked' });
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('FORBIDDEN', 403, message, options);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('NOT_FOUND', 404, message, options);
  }
}

export class ClusterNotFoundError extends AppError {
  constructor(clusterId: string) {
    super('CLUSTER_NOT_FOUND', 404, `cluster '${clusterId}' does not exist`, {
      hint: 'list clusters with GET /v1/clusters, or register it with POST /v1/clusters',
      details: { clusterId },
    });
  }
}

export class ReplicaNotFoundError extends AppError {
  constructor(replicaId: string) {
    super('REPLICA_NOT_FOUND', 404, `replica '${replicaId}' does not exist`, {
      hint: 'list replicas with GET /v1/replicas (orgplane replicas list)',
      details: { replicaId },
    });
  }
}

/** drain of a draining replica, undrain of one that is not draining. */
export class ReplicaDrainStateError extends AppError {
  constructor(replicaId: string, draining: boolean) {
    super(
      draining ? 'REPLICA_ALREADY_DRAINING' : 'REPLICA_NOT_DRAINING',
      409,
      draining ? `replica '${replicaId}' is already draining` : `replica '${replicaId}' is not draining`,
      {
        hint: draining ? `put it back with \`orgplane replicas undrain ${replicaId}\`` : 'nothing to undo; see `orgplane replicas list`',
        details: { replicaId, draining },
      },
    );
  }
}

/** Replica-health thresholds that cannot work together (warning not below critical). */
export class InvalidThresholdsError extends AppError {
  constructor(message: string, details: unknown) {
    super('INVALID_THRESHOLDS', 400, message, {
      hint: 'the warning lag must be below the critical lag, for example 5 s and 10 s',
      details,
    });
  }
}

export class PlacementNotFoundError extends AppError {
  constructor(orgId: number) {
    super('PLACEMENT_NOT_FOUND', 404, `org ${orgId} has no placement`, {
      hint: 'it is routed by its range; see GET /v1/orgs/<orgId>/location',
      details: { orgId },
    });
  }
}

/** An org's pin is in the hands of an unfinished move: changing it would fight the move executor. */
export class PlacementMoveInFlightError extends AppError {
  constructor(orgId: number, moveId: string, state: string) {
    super('PLACEMENT_MOVE_IN_FLIGHT', 409, `org ${orgId} is being moved (${moveId} is ${state}): its placement belongs to the move`, {
      hint: `let the move finish, or abort or roll it back (GET /v1/moves/${moveId}), then change the pin`,
      details: { orgId, moveId, state },
    });
  }
}

/**
 * Removing this pin would route the org by its range, to a cluster that does not hold its
 * rows (they were moved to the pin's cluster): data moves first, the map follows.
 */
export class PlacementOffRangeError extends AppError {
  constructor(orgId: number, clusterId: string, range: { lo: number; hi: number; clusterId: string }) {
    super(
      'PLACEMENT_OFF_RANGE',
      409,
      `org ${orgId} is pinned to '${clusterId}' but its range [${range.lo}, ${range.hi}] is on '${range.clusterId}': without the pin it would be routed to a cluster without its rows`,
      {
        hint: `move the org back first (POST /v1/moves {"orgIds": [${orgId}], "to": "${range.clusterId}"}), then remove the pin`,
        details: { orgId, clusterId, rangeClusterId: range.clusterId, range },
      },
    );
  }
}

export class TokenNotFoundError extends AppError {
  constructor(tokenId: string) {
    super('TOKEN_NOT_FOUND', 404, `token '${tokenId}' does not exist`, { hint: 'list tokens with GET /v1/tokens', details: { tokenId } });
  }
}

export class RangeNotFoundError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('RANGE_NOT_FOUND', 404, message, options);
  }
}

export class RolloutNotFoundError extends AppError {
  constructor(flag: string) {
    super('ROLLOUT_NOT_FOUND', 404, `rollout '${flag}' does not exist`, {
      hint: 'list rollouts with GET /v1/rollouts, or create it with POST /v1/rollouts',
      details: { flag },
    });
  }
}

export class CohortNotFoundError extends AppError {
  constructor(name: string) {
    super('COHORT_NOT_FOUND', 404, `cohort '${name}' does not exist`, {
      hint: 'list cohorts with GET /v1/cohorts, or select one with POST /v1/pilot/select',
      details: { cohort: name },
    });
  }
}

/** A rollout transition that its current status or stage does not allow. */
export class InvalidRolloutStateError extends AppError {
  constructor(
    message: string,
    options: ErrorOptions & { details: { flag: string; status: string; stageIndex: number; allowed?: readonly string[] } },
  ) {
    super('INVALID_ROLLOUT_STATE', 409, message, options);
  }
}

/** Prometheus rejected a check's query (raised by a query validator plugged into RolloutService). */
export class InvalidPromqlError extends AppError {
  constructor(query: string, message: string, options: ErrorOptions = {}) {
    super('INVALID_PROMQL', 400, `a check's query is not valid PromQL: ${message}`, {
      hint: 'try the query in the Prometheus UI, then send it again',
      ...options,
      details: { query },
    });
  }
}

/**
 * A cluster's database could not be read (pilot selection reads every serving cluster;
 * a shard-map change asks the cluster that serves the orgs now whether it holds their
 * rows) or written (a shard-map change updates the clusters' ownership markers).
 */
export class ClusterUnreachableError extends AppError {
  constructor(clusterId: string, options: ErrorOptions & { what?: string; extraDetails?: Record<string, unknown> } = {}) {
    const { what, extraDetails, ...rest } = options;
    super('CLUSTER_UNREACHABLE', 503, `cluster '${clusterId}' could not be ${what ?? 'read'}`, {
      hint: 'check that its primary is up (GET /v1/clusters), then retry',
      ...rest,
      details: { clusterId, ...extraDetails },
    });
  }
}

/** A span of org ids, as the guard reports it. */
export interface OrgSpan {
  lo: number;
  hi: number;
}

/**
 * A shard-map change (range assign, PUT of the ranges, a pin set by hand) would route
 * orgs to a cluster that does not hold their rows: the data moves first, the map follows.
 */
export class OrgDataWouldBeStrandedError extends AppError {
  constructor(
    from: string,
    to: string,
    found: { count: number; sampleOrgIds: number[] },
    rerouted: { ranges: OrgSpan[]; orgIds: number[] },
  ) {
    const what =
      rerouted.orgIds.length > 0
        ? `org${rerouted.orgIds.length === 1 ? '' : 's'} ${rerouted.orgIds.join(', ')}`
        : rerouted.ranges.map((r) => `[${r.lo}, ${r.hi}]`).join(', ');
    const sample = found.sampleOrgIds.join(', ');
    const range = rerouted.ranges.length === 1 ? rerouted.ranges[0] : undefined;
    const move =
      rerouted.orgIds.length > 0
        ? `orgplane orgs move ${rerouted.orgIds.join(' ')} --to ${to}`
        : range
          ? `orgplane orgs move --from ${from} --to ${to} --range ${range.lo}-${range.hi} --percent 100`
          : `orgplane orgs move --from ${from} --to ${to} --range <lo>-<hi> --percent 100 (one range at a time)`;
    super(
      'ORG_DATA_WOULD_BE_STRANDED',
      409,
      `cluster '${from}' holds rows of ${found.count} org(s) that this change would route to '${to}' (${what}), for example org ${sample}: they would be stranded`,
      {
        hint: `move the data first (${move}, POST /v1/moves), then change the map; if their rows are already on '${to}' (restored from a backup), send dataOn: "${to}" (CLI: --data-on ${to} --reason ...)`,
        details: { from, to, orgCount: found.count, sampleOrgIds: found.sampleOrgIds, ranges: rerouted.ranges, orgIds: rerouted.orgIds },
      },
    );
  }
}

/** `dataOn` must name the cluster the orgs are routed to: it says their rows are there. */
export class DataOnMismatchError extends AppError {
  constructor(dataOn: string, to: string) {
    super('DATA_ON_MISMATCH', 400, `dataOn names '${dataOn}', but the change routes the orgs to '${to}'`, {
      hint: `dataOn says "the rows of these orgs are already on the cluster they are routed to": send dataOn: "${to}", or leave it out`,
      details: { dataOn, to },
    });
  }
}

/** A draining or retired cluster takes no new orgs (moves, range assigns, pins into it). */
export class ClusterNotAcceptingOrgsError extends AppError {
  constructor(clusterId: string, state: string) {
    super('CLUSTER_NOT_ACCEPTING_ORGS', 409, `cluster '${clusterId}' is ${state} and takes no new orgs`, {
      hint: `choose another cluster, or set it back to active (PATCH /v1/clusters/${clusterId} {"state": "active"}); moves out of it still work`,
      details: { clusterId, state },
    });
  }
}

export class OrgNotFoundError extends AppError {
  constructor(orgId: number, clusterId: string) {
    super('ORG_NOT_FOUND', 404, `org ${orgId} does not exist on cluster '${clusterId}', which owns it`, {
      hint: `check the org id; GET /v1/orgs/${orgId}/location shows where it is routed`,
      details: { orgId, clusterId },
    });
  }
}

export class RateLimitNotFoundError extends AppError {
  constructor(owner: string, subject: string, routeClass: string) {
    super('RATE_LIMIT_NOT_FOUND', 404, `${owner} has no ${subject} rate limit for route class '${routeClass}'`, {
      hint: 'list the policies with GET /v1/limits (orgplane limits list)',
      details: { owner, subject, routeClass },
    });
  }
}

export class InvalidOriginError extends AppError {
  constructor(origin: string) {
    super('INVALID_ORIGIN', 400, `'${origin.slice(0, 300)}' is not an origin`, {
      hint: 'give scheme://host[:port] exactly, e.g. https://app.example.com: no path, no trailing slash, no wildcard',
      details: [{ field: 'origin', message: 'must be http(s)://host[:port]' }],
    });
  }
}

export class CorsOriginNotFoundError extends AppError {
  constructor(origin: string) {
    super('CORS_ORIGIN_NOT_FOUND', 404, `origin ${origin} is not on the CORS allow-list`, {
      hint: 'list the allowed origins with GET /v1/cors (orgplane cors list)',
      details: { origin },
    });
  }
}

export class MoveNotFoundError extends AppError {
  constructor(moveId: string) {
    super('MOVE_NOT_FOUND', 404, `move '${moveId}' does not exist`, { hint: 'list moves with GET /v1/moves', details: { moveId } });
  }
}

export class MoveBatchNotFoundError extends AppError {
  constructor(batchId: string) {
    super('MOVE_BATCH_NOT_FOUND', 404, `move batch '${batchId}' does not exist`, {
      hint: 'list moves with GET /v1/moves; each names its batchId',
      details: { batchId },
    });
  }
}

export class AlreadyOnClusterError extends AppError {
  /** `orgId` null: a percent batch whose `from` is its `to`. */
  constructor(orgId: number | null, clusterId: string) {
    super(
      'ALREADY_ON_CLUSTER',
      409,
      orgId === null ? `the orgs already live on cluster '${clusterId}'` : `org ${orgId} already lives on cluster '${clusterId}'`,
      {
        hint: 'choose another target cluster',
        details: orgId === null ? { clusterId } : { orgId, clusterId },
      },
    );
  }
}

export class OrgAlreadyMovingError extends AppError {
  constructor(orgId: number, moveId?: string) {
    super('ORG_ALREADY_MOVING', 409, `org ${orgId} already has an unfinished move${moveId ? ` (${moveId})` : ''}`, {
      hint: moveId
        ? `follow it with GET /v1/moves/${moveId}; resume, abort or roll it back before moving the org again`
        : 'list its moves with GET /v1/moves?orgId=<id>',
      details: { orgId, ...(moveId ? { moveId } : {}) },
    });
  }
}

type Span = { lo: number; hi: number };

/** A range move names a span that does not start and end on shard-map range bounds. */
export class RangeNotAlignedError extends AppError {
  constructor(span: Span, message: string, options: { hint: string; range: unknown }) {
    super('RANGE_NOT_ALIGNED', 422, message, { hint: options.hint, details: { ...span, range: options.range } });
  }
}

export class RangeSpansClustersError extends AppError {
  constructor(span: Span, clusterIds: readonly string[]) {
    super('RANGE_SPANS_CLUSTERS', 422, `[${span.lo}, ${span.hi}] covers ranges of ${clusterIds.map((c) => `'${c}'`).join(' and ')}`, {
      hint: 'a range move takes ranges of one cluster: move a smaller span',
      details: { ...span, clusterIds },
    });
  }
}

export class RangeAlreadyMovingError extends AppError {
  constructor(span: Span, moveId: string | null) {
    super('RANGE_ALREADY_MOVING', 409, `an unfinished range move${moveId ? ` (${moveId})` : ''} overlaps [${span.lo}, ${span.hi}]`, {
      hint: moveId ? `follow it with orgplane moves show ${moveId}; finish, abort or roll it back first` : 'list moves with GET /v1/moves',
      details: { ...span, ...(moveId ? { moveId } : {}) },
    });
  }
}

export class RangeHasMovingOrgsError extends AppError {
  constructor(span: Span, moving: ReadonlyMap<number, string>) {
    const orgIds = [...moving.keys()].slice(0, 20);
    super('RANGE_HAS_MOVING_ORGS', 409, `${moving.size} orgs of [${span.lo}, ${span.hi}] have unfinished org moves`, {
      hint: 'finish, abort or roll those moves back first (orgplane moves list --state ...)',
      details: { ...span, count: moving.size, orgIds, moveIds: orgIds.map((id) => moving.get(id)) },
    });
  }
}

/** A pin, an org move or a shard-map change would touch a span whose range move is unfinished. */
export class RangeMovingError extends AppError {
  constructor(what: string, span: Span & { moveId: string }) {
    super('RANGE_MOVING', 409, `${what}: range move ${span.moveId} of [${span.lo}, ${span.hi}] is unfinished`, {
      hint: `wait for it to complete (orgplane moves show ${span.moveId} --follow), or abort or roll it back`,
      details: span,
    });
  }
}

export class ClusterHasNoOrgsError extends AppError {
  constructor(clusterId: string) {
    super('CLUSTER_HAS_NO_ORGS', 422, `cluster '${clusterId}' holds no orgs by range: nothing to rebalance`, {
      hint: 'rebalance from a cluster that serves ranges with orgs (orgplane shards list)',
      details: { clusterId },
    });
  }
}

export class InvalidMoveStateError extends AppError {
  constructor(moveId: string, action: string, state: string, allowed: readonly string[]) {
    super('INVALID_MOVE_STATE', 409, `cannot ${action} move '${moveId}': it is ${state}`, {
      hint: `${action} needs a move that is ${allowed.join(' or ')}; see GET /v1/moves/${moveId}`,
      details: { moveId, state, allowed },
    });
  }
}

export class VersionConflictError extends AppError {
  constructor(expectedVersion: number, currentVersion: number) {
    super('VERSION_CONFLICT', 409, `the config is at version ${currentVersion}, not ${expectedVersion}`, {
      hint: 'someone else changed it: read the current state, then retry with the new expectedVersion',
      details: { expectedVersion, currentVersion },
    });
  }
}

export class AlreadyExistsError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ALREADY_EXISTS', 409, message, options);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('CONFLICT', 409, message, options);
  }
}

// The tenant side of org moves (features/moves/tenant). The move executor records
// these on the move; they are not answered to HTTP clients directly.

/** The org's move markers on a cluster do not allow the step (e.g. abort after the flip). */
export class TenantMoveStateError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TENANT_MOVE_STATE', 409, message, options);
  }
}

/** Transactions older than the capture did not end in time; the copy would miss their writes. */
export class CaptureWaitTimeoutError extends AppError {
  /** `what`: "org 7", "range [0, 99]"; `scope`: its fields ({orgId} or {range}). */
  constructor(
    what: string,
    scope: Record<string, unknown>,
    waitedMs: number,
    pids: number[],
    waitingFor: 'capture' | 'complete' = 'capture',
  ) {
    super(
      'CAPTURE_WAIT_TIMEOUT',
      503,
      waitingFor === 'capture'
        ? `transactions that started before ${what}'s capture are still open after ${waitedMs} ms`
        : `transactions that started before ${what}'s flip are still open on the source after ${waitedMs} ms; its rows are kept until they end`,
      {
        hint:
          waitingFor === 'capture'
            ? 'end the long-running transactions on the source (see details.pids in pg_stat_activity), then rerun the move'
            : 'end the long-running transactions on the source (see details.pids in pg_stat_activity); the executor retries `complete`',
        details: { ...scope, waitedMs, pids },
      },
    );
  }
}

/** Rows just replayed differ between the clusters: the target does not hold what was sent. */
export class ReplayMismatchError extends AppError {
  /** `what`: "org 7", "range [0, 99]"; `scope`: its fields ({orgId} or {range}). */
  constructor(what: string, scope: Record<string, unknown>, tables: unknown[]) {
    super('MOVE_REPLAY_MISMATCH', 409, `rows of ${what} replayed to the other cluster do not match the sender's`, {
      hint: 'look for triggers or writers on the receiving cluster; abort the move and copy again',
      details: { ...scope, tables },
    });
  }
}

/** Source and target disagree about the tenant tables, or a table cannot be moved. */
export class TenantSchemaError extends AppError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TENANT_SCHEMA', 409, message, {
      hint: 'run the tenant migrations on both clusters so they are at the same version',
      ...options,
    });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', 413, `the request body is larger than ${limitBytes} bytes`, {
      hint: 'send fewer items per request',
    });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(contentType: string | undefined) {
    super('UNSUPPORTED_MEDIA_TYPE', 415, `content type '${contentType ?? ''}' is not supported`, {
      hint: 'send JSON with Content-Type: application/json',
    });
  }
}

/** Prometheus did not answer, so a check's query could not be validated. */
export class PrometheusUnavailableError extends AppError {
  constructor(reason: string) {
    super('PROMETHEUS_UNAVAILABLE', 503, `Prometheus could not validate the check queries: ${reason}`, {
      hint: 'check that Prometheus is up at ORGPLANE_PROMETHEUS_URL, then retry',
    });
  }
}

/**
 * Too many snapshots are being sent at once (a reconnect storm): come back after
 * `retryAfterSeconds`. The route sets Retry-After; runtimes add jitter to it.
 */
export class SnapshotSendsBusyError extends AppError {
  constructor(
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super('SNAPSHOT_SENDS_BUSY', 503, `${limit} config snapshots are being sent already; retry after ${retryAfterSeconds} s`, {
      hint: 'runtimes retry on their own (Retry-After plus jitter); raise ORGPLANE_CONFIG_MAX_SNAPSHOT_SENDS if this persists',
    });
  }
}

export class InternalError extends AppError {
  constructor() {
    super('INTERNAL', 500, 'the control plane failed to handle this request', {
      hint: 'retry; if it keeps failing, report the errorId (it is in the control-plane log)',
    });
  }
}

/** Bad or missing settings at startup (not an HTTP outcome). */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json === undefined ? typeof value : json.length > 40 ? `${json.slice(0, 40)}...` : json;
}

interface AjvIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** `/ranges/0/lo` -> `ranges[0].lo`. */
function fieldPath(pointer: string, extra?: unknown): string {
  const parts = pointer.split('/').slice(1);
  if (typeof extra === 'string') parts.push(extra);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function fromValidation(issues: AjvIssue[], where: string | undefined): InvalidInputError {
  const details: FieldIssue[] = issues.map((issue) => {
    const extra = issue.params['missingProperty'] ?? issue.params['additionalProperty'];
    const field = fieldPath(issue.instancePath, extra) || (where ?? 'body');
    const message =
      issue.keyword === 'additionalProperties'
        ? 'is not a known field'
        : issue.keyword === 'required'
          ? 'is required'
          : (issue.message ?? 'is invalid');
    return { field, message };
  });
  const first = details[0];
  const summary = first ? `${first.field} ${first.message}` : 'it does not match the schema';
  return new InvalidInputError(`the request ${where ?? 'body'} is invalid: ${summary}`, {
    details,
    hint: 'fix the fields listed in details',
  });
}

/** Map fastify's own errors (body parsing, validation, limits) to our classes. */
export function toAppError(err: FastifyError, request: { headers: Record<string, unknown> }, bodyLimitBytes: number): AppError | null {
  if (err instanceof AppError) return err;
  if (err.validation) return fromValidation(err.validation as AjvIssue[], err.validationContext);
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new MalformedJsonError();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MalformedJsonError('the request body is empty but Content-Type says JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(bodyLimitBytes);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError(request.headers['content-type'] as string | undefined);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InvalidInputError('the Content-Length header does not match the body');
  }
  // A string Postgres cannot store: \u0000 in text (22021) or in jsonb (22P05). Only a
  // request carries one, and its transaction has rolled back, so it is the caller's input.
  const state = (err as { code?: unknown }).code;
  if (state === '22021' || state === '22P05') {
    return new InvalidInputError('the request holds a NUL character (\\u0000), which cannot be stored', {
      details: [{ field: 'body', message: 'a string holds \\u0000' }],
      hint: 'remove the \\u0000 from the text',
    });
  }
  // secure-json-parse refuses __proto__ / constructor keys with a SyntaxError.
  if (err instanceof SyntaxError && err.statusCode === 400) return new MalformedJsonError(err.message);
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    if (err.statusCode === 404) return new NotFoundError(err.message);
    if (err.statusCode === 413) return new PayloadTooLargeError(bodyLimitBytes);
    if (err.statusCode === 415) return new UnsupportedMediaTypeError(request.headers['content-type'] as string | undefined);
    return new InvalidInputError(err.message);
  }
  return null;
}

export interface ErrorHandlerOptions {
  bodyLimitBytes: number;
  /** Called with the code of every error answered, for metrics. */
  onError?: (code: string, statusCode: number) => void;
}

/** The one handler that turns every error into `{"error": {...}}`. */
export function registerErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = toAppError(err, request, options.bodyLimitBytes);
    if (known) {
      options.onError?.(known.code, known.statusCode);
      if (known.statusCode === 401) reply.header('www-authenticate', 'Bearer');
      request.log.info({ code: known.code, statusCode: known.statusCode }, known.message);
      return reply.code(known.statusCode).send(known.toWire());
    }
    const internal = new InternalError();
    const errorId = randomUUID();
    options.onError?.(internal.code, internal.statusCode);
    request.log.error({ err, errorId }, 'unhandled error');
    return reply.code(500).send(internal.toWire(errorId));
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new NotFoundError(`no route ${request.method} ${request.url.split('?')[0]}`, {
      hint: 'see control-plane/API.md for the endpoints',
    });
    options.onError?.(err.code, err.statusCode);
    return reply.code(404).send(err.toWire());
  });
}
