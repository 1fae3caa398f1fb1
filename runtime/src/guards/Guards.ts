// The request guards, composed: what a request must pass before its handler runs, in this
// order: CORS (a preflight is answered here), the body limit on Content-Length (413 before
// a byte is read), the rate limits (429), the body read with the same limit, then the
// Idempotency-Key (replay, 409, 422, 400). Connection caps and cache headers are asked for
// by the handlers that need them. The adapters (node:http, express, fastify) call these.
import type { IncomingHttpHeaders } from 'node:http';
import { Registry } from 'prom-client';
import type { WireRateLimitPolicy } from '../wire.js';
import { ConnectionCaps } from './connections.js';
import { CorsGuard } from './cors.js';
import { type Claim, IdempotencyGuard, parseIdempotencyKey, requestFingerprint } from './idempotency.js';
import { createGuardMetrics, type GuardMetrics } from './metrics.js';
import { RateLimiter } from './rateLimit.js';
import type { RedisClient } from './redis.js';

export const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/** Where the limits and the allow-list come from: a Runtime, or a fixed config (tests). */
export interface GuardConfigSource {
  guardConfig(): { rateLimits: readonly WireRateLimitPolicy[]; corsOrigins: readonly string[] };
}

/** Who a request is for; null leaves it unidentified (no rate limit, no idempotency). */
export interface GuardIdentity {
  orgId: number;
  userId: string;
  /** The org's tier (its plan): the host knows it; policies of `default` apply when it has none. */
  tier: string;
  /** Default `all`. */
  routeClass?: string;
  /** Whose idempotency keys these are (default userId): keys are scoped by org and caller. */
  caller?: string;
}

export interface GuardsOptions {
  redis: RedisClient;
  config: GuardConfigSource;
  registry?: Registry;
  /** Every Redis call is bounded by this (default 50 ms). */
  redisTimeoutMs?: number;
  keyPrefix?: string;
  bodyLimitBytes?: number;
  idempotency?: { ttlSeconds?: number; inProgressSeconds?: number; methods?: readonly string[] };
  connections?: { perUser?: number; perOrg?: number; leaseTtlMs?: number };
  /** Turn single guards off (the benchmark's baseline; never in production). */
  disable?: Partial<Record<'cors' | 'bodyLimit' | 'rateLimit' | 'idempotency', boolean>>;
}

/** An answer the guards give instead of the handler. */
export interface GuardReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Admission = { kind: 'reply'; reply: GuardReply } | { kind: 'pass'; headers: Record<string, string> };

export type BodyAdmission = { kind: 'reply'; reply: GuardReply } | { kind: 'pass'; claim: { claim: Claim; fingerprint: string } | null };

export function errorReply(status: number, code: string, message: string, hint?: string, headers: Record<string, string> = {}): GuardReply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: Buffer.from(JSON.stringify({ error: { code, message, ...(hint === undefined ? {} : { hint }) } })),
  };
}

export class Guards {
  readonly metrics: GuardMetrics;
  readonly registry: Registry;
  readonly rateLimiter: RateLimiter;
  readonly idempotency: IdempotencyGuard;
  readonly connections: ConnectionCaps;
  readonly cors: CorsGuard;
  readonly bodyLimitBytes: number;
  private readonly idempotentMethods: Set<string>;
  private readonly disabled: NonNullable<GuardsOptions['disable']>;

  constructor(options: GuardsOptions) {
    this.registry = options.registry ?? new Registry();
    this.metrics = createGuardMetrics(this.registry);
    const timeoutMs = options.redisTimeoutMs ?? 50;
    const keyPrefix = options.keyPrefix ?? 'orgplane:';
    this.disabled = options.disable ?? {};
    this.bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
    this.rateLimiter = new RateLimiter({
      redis: options.redis,
      policies: () => options.config.guardConfig().rateLimits,
      metrics: this.metrics,
      timeoutMs,
      keyPrefix,
    });
    this.idempotency = new IdempotencyGuard({
      redis: options.redis,
      metrics: this.metrics,
      timeoutMs,
      keyPrefix,
      ttlSeconds: options.idempotency?.ttlSeconds ?? 86_400,
      inProgressSeconds: options.idempotency?.inProgressSeconds ?? 10,
    });
    this.idempotentMethods = new Set(options.idempotency?.methods ?? ['POST', 'PUT', 'PATCH']);
    this.connections = new ConnectionCaps({
      redis: options.redis,
      metrics: this.metrics,
      timeoutMs,
      keyPrefix,
      perUser: options.connections?.perUser ?? 10,
      perOrg: options.connections?.perOrg ?? 1000,
      leaseTtlMs: options.connections?.leaseTtlMs ?? 15_000,
    });
    this.cors = new CorsGuard({ origins: () => options.config.guardConfig().corsOrigins });
  }

  /** CORS, the Content-Length limit and the rate limits: everything before the body is read. */
  async admit(method: string, headers: IncomingHttpHeaders, identity: GuardIdentity | null): Promise<Admission> {
    const out: Record<string, string> = {};
    if (!this.disabled.cors) {
      const cors = this.cors.decide(method, headers);
      this.metrics.decision(
        'cors',
        cors.kind === 'preflight' ? (cors.status === 204 ? 'preflight_allowed' : 'preflight_refused') : cors.kind,
      );
      if (cors.kind === 'preflight') {
        return {
          kind: 'reply',
          reply: { status: cors.status, headers: { ...cors.headers, 'content-length': '0' }, body: Buffer.alloc(0) },
        };
      }
      Object.assign(out, cors.headers);
    }
    if (!this.disabled.bodyLimit) {
      const length = Number(headers['content-length'] ?? 0);
      if (length > this.bodyLimitBytes) {
        this.metrics.decision('body_limit', 'refused');
        return { kind: 'reply', reply: this.tooLarge(out) };
      }
    }
    if (identity && !this.disabled.rateLimit) {
      const decision = await this.rateLimiter.check({
        orgId: identity.orgId,
        userId: identity.userId,
        tier: identity.tier,
        routeClass: identity.routeClass ?? 'all',
      });
      Object.assign(out, decision.headers);
      if (!decision.allowed) {
        return {
          kind: 'reply',
          reply: errorReply(
            429,
            'RATE_LIMITED',
            `too many requests: try again in ${decision.retryAfterSeconds} s`,
            'wait for Retry-After seconds',
            out,
          ),
        };
      }
    }
    return { kind: 'pass', headers: out };
  }

  tooLarge(headers: Record<string, string> = {}): GuardReply {
    return errorReply(413, 'PAYLOAD_TOO_LARGE', `the request body is over ${this.bodyLimitBytes} bytes`, 'send a smaller body', {
      ...headers,
      connection: 'close',
    });
  }

  /** The Idempotency-Key, once the body is read. `required`: a missing key is a 400. */
  async claim(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    identity: GuardIdentity | null,
    options: { required?: boolean } = {},
  ): Promise<BodyAdmission> {
    if (this.disabled.idempotency || !identity || !this.idempotentMethods.has(method)) return { kind: 'pass', claim: null };
    const key = parseIdempotencyKey(headers['idempotency-key']);
    if (key === undefined) {
      if (!options.required) return { kind: 'pass', claim: null };
      this.metrics.decision('idempotency', 'missing');
      return {
        kind: 'reply',
        reply: errorReply(
          400,
          'IDEMPOTENCY_KEY_REQUIRED',
          `${method} ${path} needs an Idempotency-Key header`,
          'send a unique key (a UUID) per operation, and the same key on every retry of it',
        ),
      };
    }
    if (key === null) {
      this.metrics.decision('idempotency', 'malformed');
      return {
        kind: 'reply',
        reply: errorReply(
          400,
          'INVALID_IDEMPOTENCY_KEY',
          'the Idempotency-Key must be 1 to 255 visible ASCII characters, sent once',
          'send a UUID',
        ),
      };
    }
    const fingerprint = requestFingerprint(method, path, body);
    const begun = await this.idempotency.begin(
      this.idempotency.recordKey(identity.orgId, identity.caller ?? identity.userId, key),
      fingerprint,
    );
    switch (begun.kind) {
      case 'run':
        return { kind: 'pass', claim: { claim: begun.claim, fingerprint } };
      case 'replay':
        return {
          kind: 'reply',
          reply: {
            status: begun.response.status,
            headers: { ...begun.response.headers, 'idempotent-replayed': 'true' },
            body: Buffer.from(begun.response.body, 'base64'),
          },
        };
      case 'in_flight':
        return {
          kind: 'reply',
          reply: errorReply(
            409,
            'IDEMPOTENCY_KEY_IN_USE',
            'a request with this Idempotency-Key is still in progress',
            'retry after it finishes',
            { 'retry-after': '1' },
          ),
        };
      case 'mismatch':
        return {
          kind: 'reply',
          reply: errorReply(
            422,
            'IDEMPOTENCY_KEY_MISMATCH',
            'this Idempotency-Key was used with a different request',
            'use a new key for a different request',
          ),
        };
      case 'unavailable':
        return {
          kind: 'reply',
          reply: errorReply(
            503,
            'IDEMPOTENCY_UNAVAILABLE',
            'the idempotency store did not answer; the request was not run',
            'retry with the same key',
            { 'retry-after': '1' },
          ),
        };
    }
  }

  /** Store the handler's response under the claim (headers kept: content-type, location, etag, cache headers). */
  async complete(
    claim: { claim: Claim; fingerprint: string },
    status: number,
    headers: Record<string, unknown>,
    body: Buffer,
  ): Promise<void> {
    const kept: Record<string, string> = {};
    for (const name of ['content-type', 'location', 'etag', 'cache-control', 'surrogate-key', 'cache-tag']) {
      const value = headers[name];
      if (value !== undefined) kept[name] = String(value);
    }
    await this.idempotency.finish(claim.claim, { status, headers: kept, body }, claim.fingerprint);
  }

  close(): void {
    this.connections.close();
  }
}
