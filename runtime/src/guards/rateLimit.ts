// GCRA rate limits, every limit that applies to a request checked in one Redis script (one
// round trip): per org, per user and per route class, with policies from the control
// plane's config. Keys found over their limit are remembered in-process until their retry
// time, so a client hammering past its limit costs no Redis call. Redis down or slow:
// fail open onto an in-process GCRA with the same policies (each instance then enforces
// the limit alone, so the fleet admits up to N times the limit; no request waits longer
// than the timeout).
import { DEFAULT_TIER, ROUTE_CLASS_ALL, type WireRateLimitPolicy } from '../wire.js';
import type { GuardMetrics } from './metrics.js';
import { type RedisClient, Script, withTimeout } from './redis.js';

/** Who is asking: the host resolves it per request (tier: the org's plan). */
export interface RateLimitSubjectIds {
  orgId: number;
  userId: string;
  tier: string;
  routeClass: string;
}

interface AppliedLimit {
  key: string;
  name: string;
  policy: WireRateLimitPolicy;
  /** Emission interval, ms. */
  intervalMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** RateLimit-Policy, RateLimit and (when refused) Retry-After; empty when no limit applies. */
  headers: Record<string, string>;
  retryAfterSeconds: number;
  outcome: 'allowed' | 'limited' | 'limited_local' | 'shadow_limited' | 'fail_open' | 'none';
}

// KEYS: one per limit. ARGV: per key, interval ms, burst, shadow (0/1).
// Returns per key: allowed (0/1), remaining, retry-after ms, reset ms.
// Nothing is written unless every non-shadow key allows.
const GCRA = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = {}
local ok = true
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i * 3 - 2])
  local burst = tonumber(ARGV[i * 3 - 1])
  local shadow = ARGV[i * 3] == '1'
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local newTat = tat + interval
  local allowAt = newTat - burst * interval
  if allowAt <= now then
    tats[i] = newTat
    out[#out + 1] = 1
    out[#out + 1] = math.floor((now - allowAt) / interval)
    out[#out + 1] = 0
    out[#out + 1] = math.ceil(newTat - now)
  else
    if not shadow then ok = false end
    out[#out + 1] = 0
    out[#out + 1] = 0
    out[#out + 1] = math.ceil(allowAt - now)
    out[#out + 1] = math.ceil(tat - now)
  end
end
if ok then
  for i, key in ipairs(KEYS) do
    if tats[i] then redis.call('SET', key, tostring(tats[i]), 'PX', math.max(1, math.ceil(tats[i] - now))) end
  end
end
return out
`);

/** Policies indexed for one config: resolution costs a few map lookups per request. */
class PolicyIndex {
  private readonly byOrg = new Map<string, WireRateLimitPolicy>();
  private readonly byTier = new Map<string, WireRateLimitPolicy>();
  constructor(readonly source: readonly WireRateLimitPolicy[]) {
    for (const p of source) {
      if (p.orgId !== null) this.byOrg.set(`${p.orgId}|${p.subject}|${p.routeClass}`, p);
      else if (p.tier !== null) this.byTier.set(`${p.tier}|${p.subject}|${p.routeClass}`, p);
    }
  }
  resolve(orgId: number, tier: string, subject: 'org' | 'user', routeClass: string): WireRateLimitPolicy | undefined {
    const tail = `|${subject}|${routeClass}`;
    return this.byOrg.get(`${orgId}${tail}`) ?? this.byTier.get(`${tier}${tail}`) ?? this.byTier.get(`${DEFAULT_TIER}${tail}`);
  }
}

export interface RateLimiterOptions {
  redis: RedisClient;
  policies: () => readonly WireRateLimitPolicy[];
  metrics: GuardMetrics;
  timeoutMs: number;
  keyPrefix: string;
  now?: () => number;
}

export class RateLimiter {
  private index = new PolicyIndex([]);
  /** key -> ms (this clock) until which it is known to be over its limit. */
  private readonly blocked = new Map<string, number>();
  /** The in-process GCRA used while Redis fails: key -> TAT ms. */
  private readonly localTats = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The limits that apply to a request (none when no policy matches). */
  private limitsFor(ids: RateLimitSubjectIds): AppliedLimit[] {
    const policies = this.options.policies();
    if (policies !== this.index.source) {
      this.index = new PolicyIndex(policies);
      this.blocked.clear();
    }
    const out: AppliedLimit[] = [];
    const classes = ids.routeClass === ROUTE_CLASS_ALL ? [ROUTE_CLASS_ALL] : [ROUTE_CLASS_ALL, ids.routeClass];
    for (const subject of ['org', 'user'] as const) {
      for (const routeClass of classes) {
        const policy = this.index.resolve(ids.orgId, ids.tier, subject, routeClass);
        if (!policy) continue;
        const who = subject === 'org' ? `${ids.orgId}` : `${ids.orgId}:${ids.userId}`;
        out.push({
          key: `${this.options.keyPrefix}rl:{${ids.orgId}}:${subject}:${who}:${routeClass}:${policy.limit}:${policy.windowSeconds}:${policy.burst}`,
          name: routeClass === ROUTE_CLASS_ALL ? subject : `${subject}-${routeClass}`,
          policy,
          intervalMs: (policy.windowSeconds * 1000) / policy.limit,
        });
      }
    }
    return out;
  }

  async check(ids: RateLimitSubjectIds): Promise<RateLimitDecision> {
    const limits = this.limitsFor(ids);
    if (limits.length === 0) return { allowed: true, headers: {}, retryAfterSeconds: 0, outcome: 'none' };
    const now = this.now();
    for (const limit of limits) {
      const until = this.blocked.get(limit.key);
      if (until === undefined) continue;
      if (until > now && !limit.policy.shadow) {
        this.options.metrics.decision('rate_limit', 'limited_local');
        return refused(limits, limit, until - now, 'limited_local');
      }
      this.blocked.delete(limit.key);
    }
    const args: (string | number)[] = [];
    for (const l of limits) args.push(l.intervalMs, l.policy.burst, l.policy.shadow ? 1 : 0);
    const started = performance.now();
    let raw: number[];
    try {
      raw = (await withTimeout(
        GCRA.run(
          this.options.redis,
          limits.map((l) => l.key),
          args,
        ),
        this.options.timeoutMs,
      )) as number[];
      this.options.metrics.redisSeconds.observe({ guard: 'rate_limit', result: 'ok' }, (performance.now() - started) / 1000);
    } catch (err) {
      this.options.metrics.redisSeconds.observe(
        { guard: 'rate_limit', result: (err as Error).name === 'RedisTimeoutError' ? 'timeout' : 'error' },
        (performance.now() - started) / 1000,
      );
      return this.checkLocally(limits, now);
    }
    return this.decide(limits, raw, now);
  }

  private decide(limits: AppliedLimit[], raw: number[], now: number): RateLimitDecision {
    let tightest = 0;
    let refusedAt = -1;
    let shadowed = false;
    for (let i = 0; i < limits.length; i++) {
      const allowed = raw[i * 4] === 1;
      if (!allowed && limits[i]!.policy.shadow) shadowed = true;
      else if (!allowed && (refusedAt === -1 || raw[i * 4 + 2]! > raw[refusedAt * 4 + 2]!)) refusedAt = i;
      if (raw[i * 4 + 1]! < raw[tightest * 4 + 1]!) tightest = i;
    }
    if (refusedAt !== -1) {
      const limit = limits[refusedAt]!;
      const retryMs = raw[refusedAt * 4 + 2]!;
      this.blocked.set(limit.key, now + retryMs);
      this.options.metrics.decision('rate_limit', 'limited');
      return refused(limits, limit, retryMs, 'limited');
    }
    const outcome = shadowed ? 'shadow_limited' : 'allowed';
    this.options.metrics.decision('rate_limit', outcome);
    const t = limits[tightest]!;
    return {
      allowed: true,
      headers: {
        'ratelimit-policy': policyHeader(limits),
        ratelimit: `"${t.name}";r=${raw[tightest * 4 + 1]};t=${Math.ceil(raw[tightest * 4 + 3]! / 1000)}`,
      },
      retryAfterSeconds: 0,
      outcome,
    };
  }

  private checkLocally(limits: AppliedLimit[], now: number): RateLimitDecision {
    const raw: number[] = [];
    let ok = true;
    const next: number[] = [];
    for (const l of limits) {
      const tat = Math.max(this.localTats.get(l.key) ?? now, now);
      const newTat = tat + l.intervalMs;
      const allowAt = newTat - l.policy.burst * l.intervalMs;
      if (allowAt <= now) raw.push(1, Math.floor((now - allowAt) / l.intervalMs), 0, Math.ceil(newTat - now));
      else {
        if (!l.policy.shadow) ok = false;
        raw.push(0, 0, Math.ceil(allowAt - now), Math.ceil(tat - now));
      }
      next.push(newTat);
    }
    if (ok) {
      limits.forEach((l, i) => {
        if (raw[i * 4] === 1) this.localTats.set(l.key, next[i]!);
      });
      if (this.localTats.size > 100_000) this.localTats.clear();
    }
    const decision = this.decide(limits, raw, now);
    this.blocked.clear();
    this.options.metrics.decision('rate_limit', 'fail_open');
    return { ...decision, outcome: decision.allowed ? 'fail_open' : decision.outcome };
  }
}

function policyHeader(limits: AppliedLimit[]): string {
  return limits.map((l) => `"${l.name}";q=${l.policy.limit};w=${l.policy.windowSeconds}`).join(', ');
}

function refused(limits: AppliedLimit[], limit: AppliedLimit, retryMs: number, outcome: 'limited' | 'limited_local'): RateLimitDecision {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryMs / 1000));
  return {
    allowed: false,
    headers: {
      'ratelimit-policy': policyHeader(limits),
      ratelimit: `"${limit.name}";r=0;t=${retryAfterSeconds}`,
      'retry-after': String(retryAfterSeconds),
    },
    retryAfterSeconds,
    outcome,
  };
}
