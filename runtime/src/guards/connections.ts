// Caps on long-lived connections (SSE, WebSocket): 10 per user and 1,000 per org by
// default. Counted in-process (a refusal that costs nothing) and across every instance
// through Redis leases: one sorted set per org and per user, members scored by expiry,
// refreshed by a heartbeat every ttl/3. A crashed instance stops refreshing, so its slots
// free themselves after the lease TTL. Redis down or slow: fail open onto the in-process
// counts (each instance then enforces the caps alone).
import { randomUUID } from 'node:crypto';
import type { GuardMetrics } from './metrics.js';
import { type RedisClient, Script, withTimeout } from './redis.js';

export interface ConnectionCapOptions {
  redis: RedisClient;
  metrics: GuardMetrics;
  timeoutMs: number;
  keyPrefix: string;
  perUser: number;
  perOrg: number;
  leaseTtlMs: number;
}

export interface ConnectionLease {
  readonly id: string;
  release(): Promise<void>;
}

export type AcquireResult = { ok: true; lease: ConnectionLease } | { ok: false; scope: 'user' | 'org'; cap: number };

// KEYS: org set, user set. ARGV: lease id, ttl ms, org cap, user cap. 0 ok, 1 org full, 2 user full.
const ACQUIRE = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 2 end
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return 0
`);

// KEYS: pairs of sets; ARGV[1] ttl ms, then one lease id per pair. Refreshes leases that still exist.
const HEARTBEAT = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + ttl, ARGV[math.floor((i + 1) / 2) + 1])
  redis.call('PEXPIRE', KEYS[i], ttl * 2)
end
return 0
`);

interface Held {
  orgKey: string;
  userKey: string;
  orgLocal: string;
  userLocal: string;
  redis: boolean;
}

export class ConnectionCaps {
  private readonly local = new Map<string, number>();
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ConnectionCapOptions) {}

  /** How many connections this process holds (all orgs). */
  get size(): number {
    return this.held.size;
  }

  async acquire(orgId: number, userId: string): Promise<AcquireResult> {
    const { perOrg, perUser, keyPrefix, metrics } = this.options;
    const orgLocal = `o:${orgId}`;
    const userLocal = `u:${orgId}:${userId}`;
    if ((this.local.get(orgLocal) ?? 0) >= perOrg) return this.refuse('org', perOrg, 'refused_local');
    if ((this.local.get(userLocal) ?? 0) >= perUser) return this.refuse('user', perUser, 'refused_local');
    const id = randomUUID();
    const held: Held = {
      orgKey: `${keyPrefix}conn:{${orgId}}:org`,
      userKey: `${keyPrefix}conn:{${orgId}}:user:${userId}`,
      orgLocal,
      userLocal,
      redis: true,
    };
    const started = performance.now();
    try {
      const answer = await withTimeout(
        ACQUIRE.run(this.options.redis, [held.orgKey, held.userKey], [id, this.options.leaseTtlMs, perOrg, perUser]),
        this.options.timeoutMs,
      );
      this.observe('ok', started);
      if (answer === 1) return this.refuse('org', perOrg, 'refused');
      if (answer === 2) return this.refuse('user', perUser, 'refused');
      metrics.decision('connections', 'allowed');
    } catch (err) {
      this.observe((err as Error).name === 'RedisTimeoutError' ? 'timeout' : 'error', started);
      held.redis = false;
      metrics.decision('connections', 'fail_open');
    }
    this.local.set(orgLocal, (this.local.get(orgLocal) ?? 0) + 1);
    this.local.set(userLocal, (this.local.get(userLocal) ?? 0) + 1);
    this.held.set(id, held);
    this.startHeartbeat();
    let released = false;
    return {
      ok: true,
      lease: {
        id,
        release: async () => {
          if (released) return;
          released = true;
          await this.release(id);
        },
      },
    };
  }

  /** Stop heartbeats; leases left in Redis expire after their TTL. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async release(id: string): Promise<void> {
    const held = this.held.get(id);
    if (!held) return;
    this.held.delete(id);
    for (const key of [held.orgLocal, held.userLocal]) {
      const n = (this.local.get(key) ?? 1) - 1;
      if (n <= 0) this.local.delete(key);
      else this.local.set(key, n);
    }
    if (this.held.size === 0) this.close();
    if (!held.redis) return;
    try {
      const pipeline = this.options.redis.pipeline();
      pipeline.zrem(held.orgKey, id);
      pipeline.zrem(held.userKey, id);
      await withTimeout(pipeline.exec(), this.options.timeoutMs);
    } catch {
      // The lease expires after its TTL.
    }
  }

  private startHeartbeat(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.heartbeat(), Math.max(100, Math.floor(this.options.leaseTtlMs / 3)));
    this.timer.unref();
  }

  private async heartbeat(): Promise<void> {
    const keys: string[] = [];
    const ids: string[] = [];
    for (const [id, held] of this.held) {
      if (!held.redis) continue;
      keys.push(held.orgKey, held.userKey);
      ids.push(id);
    }
    if (ids.length === 0) return;
    try {
      await withTimeout(HEARTBEAT.run(this.options.redis, keys, [this.options.leaseTtlMs, ...ids]), this.options.timeoutMs);
    } catch {
      this.options.metrics.decision('connections', 'heartbeat_failed');
    }
  }

  private refuse(scope: 'user' | 'org', cap: number, outcome: string): AcquireResult {
    this.options.metrics.decision('connections', outcome);
    return { ok: false, scope, cap };
  }

  private observe(result: string, started: number): void {
    this.options.metrics.redisSeconds.observe({ guard: 'connections', result }, (performance.now() - started) / 1000);
  }
}
