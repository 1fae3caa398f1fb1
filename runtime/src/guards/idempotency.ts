// Idempotency-Key on POST/PUT/PATCH, stored in Redis for 24 h, keyed by org, caller and key
// (a low-entropy key cannot reach another client's response). The first request claims the
// key with SET NX semantics and an in-progress expiry; a claim older than that expiry is an
// orphan (its process died) and the next request takes it over, in the same script, so a
// crash never blocks a key for longer than the in-progress expiry.
//
// Stored: every response with status < 500 except 408, 409, 425 and 429 (those say "try
// again", and a retry must be allowed to run). Not stored: 5xx (the claim is deleted so a
// retry runs again). Validation errors the handler returns (400, 422) are stored: the same
// body gets the same answer. Refusals by the guards themselves (413, 429, the key's own
// 400/409/422) happen before a claim and are never stored.
// Redis down or slow: fail closed (503 + Retry-After): running a request whose key cannot
// be claimed could create the duplicate the client sent the key to avoid.
import { createHash, randomUUID } from 'node:crypto';
import type { GuardMetrics } from './metrics.js';
import { type RedisClient, Script, withTimeout } from './redis.js';

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
const UNSTORED = new Set([408, 409, 425, 429]);

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** base64 */
  body: string;
}

export type IdempotencyBegin =
  | { kind: 'run'; claim: Claim }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' }
  | { kind: 'unavailable' };

export interface Claim {
  key: string;
  token: string;
}

/** The key as sent: an sf-string (quoted) or a bare token; 1..255 visible ASCII characters. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) return null;
  let text = header.trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  if (text.length === 0 || text.length > IDEMPOTENCY_KEY_MAX_LENGTH || !/^[\x20-\x7e]+$/.test(text) || /["\\]/.test(text)) return null;
  return text;
}

export function requestFingerprint(method: string, path: string, body: Buffer): string {
  return createHash('sha256').update(method).update('\0').update(path).update('\0').update(body).digest('base64url');
}

// KEYS[1] the record. ARGV: fingerprint, token, in-progress ms, ttl ms.
// Returns {'run'} | {'replay', json} | {'in_flight'} | {'mismatch'}.
const BEGIN = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local claim = cjson.encode({s = 'p', f = ARGV[1], k = ARGV[2], e = now + tonumber(ARGV[3])})
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('SET', KEYS[1], claim, 'PX', ARGV[4])
  return {'run'}
end
local rec = cjson.decode(raw)
if rec.f ~= ARGV[1] then return {'mismatch'} end
if rec.s == 'c' then return {'replay', raw} end
if rec.e <= now then
  redis.call('SET', KEYS[1], claim, 'PX', ARGV[4])
  return {'run'}
end
return {'in_flight'}
`);

// KEYS[1]. ARGV: token, record json ('' deletes), ttl ms. Only the claim's owner may finish it.
const FINISH = new Script(`
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local rec = cjson.decode(raw)
if rec.s ~= 'p' or rec.k ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`);

export interface IdempotencyOptions {
  redis: RedisClient;
  metrics: GuardMetrics;
  timeoutMs: number;
  keyPrefix: string;
  /** How long a record is kept (default 24 h). */
  ttlSeconds: number;
  /** How long a claim protects a request in flight before it counts as an orphan (default 10 s). */
  inProgressSeconds: number;
}

export class IdempotencyGuard {
  constructor(private readonly options: IdempotencyOptions) {}

  recordKey(orgId: number, caller: string, key: string): string {
    const hash = createHash('sha256').update(caller).update('\0').update(key).digest('base64url');
    return `${this.options.keyPrefix}idem:{${orgId}}:${hash}`;
  }

  async begin(recordKey: string, fingerprint: string): Promise<IdempotencyBegin> {
    const token = randomUUID();
    const { ttlSeconds, inProgressSeconds, timeoutMs } = this.options;
    const started = performance.now();
    let answer: [string, string?];
    try {
      answer = (await withTimeout(
        BEGIN.run(this.options.redis, [recordKey], [fingerprint, token, inProgressSeconds * 1000, ttlSeconds * 1000]),
        timeoutMs,
      )) as [string, string?];
      this.observe('ok', started);
    } catch (err) {
      this.observe((err as Error).name === 'RedisTimeoutError' ? 'timeout' : 'error', started);
      this.options.metrics.decision('idempotency', 'fail_closed');
      return { kind: 'unavailable' };
    }
    const [kind, raw] = answer;
    if (kind === 'run') {
      this.options.metrics.decision('idempotency', 'claimed');
      return { kind: 'run', claim: { key: recordKey, token } };
    }
    if (kind === 'replay') {
      this.options.metrics.decision('idempotency', 'replayed');
      return { kind: 'replay', response: (JSON.parse(raw!) as { r: StoredResponse }).r };
    }
    this.options.metrics.decision('idempotency', kind === 'mismatch' ? 'mismatch' : 'in_flight');
    return { kind: kind === 'mismatch' ? 'mismatch' : 'in_flight' };
  }

  /** Store the response (or release the claim, for outcomes that are not stored). Never throws. */
  async finish(
    claim: Claim,
    response: { status: number; headers: Record<string, string>; body: Buffer },
    fingerprint: string,
  ): Promise<void> {
    const store = response.status < 500 && !UNSTORED.has(response.status);
    const record = store
      ? JSON.stringify({
          s: 'c',
          f: fingerprint,
          k: claim.token,
          r: { status: response.status, headers: response.headers, body: response.body.toString('base64') } satisfies StoredResponse,
        })
      : '';
    const started = performance.now();
    try {
      await withTimeout(
        FINISH.run(this.options.redis, [claim.key], [claim.token, record, this.options.ttlSeconds * 1000]),
        this.options.timeoutMs,
      );
      this.observe('ok', started);
    } catch (err) {
      // The claim expires by itself after the in-progress expiry; a retry then runs again.
      this.observe((err as Error).name === 'RedisTimeoutError' ? 'timeout' : 'error', started);
      this.options.metrics.decision('idempotency', 'store_failed');
    }
  }

  private observe(result: string, started: number): void {
    this.options.metrics.redisSeconds.observe({ guard: 'idempotency', result }, (performance.now() - started) / 1000);
  }
}
