// ReadRouter's choices without a database: only healthy replicas take reads, spread
// round-robin; a pin keeps reads off every replica not yet seen past the write; tokens
// carry a pin and nothing else. (Reads on real replicas: test/replicaReads.test.ts.)
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { formatReadToken, PIN_MS, parseReadToken, type ReadFallbackEvent, ReadRouter } from '../src/readRouting.js';
import type { WireCluster, WireReplicaHealth } from '../src/wire.js';

const cluster: WireCluster = {
  id: 'c1',
  state: 'active',
  primary: { url: 'postgres://p/db' },
  replicas: [
    { id: 'r1', url: 'postgres://r1/db' },
    { id: 'r2', url: 'postgres://r2/db' },
    { id: 'r3', url: 'postgres://r3/db' },
  ],
};
const health = (states: Record<string, WireReplicaHealth['state']>): WireReplicaHealth[] =>
  Object.entries(states).map(([id, state]) => ({ id, clusterId: 'c1', state, lagSeconds: 0, lagBytes: 0, checkedAt: null }));

function router() {
  const fallbacks: ReadFallbackEvent[] = [];
  const retired: string[] = [];
  const r = new ReadRouter({
    createPool: (_clusterId, url) => ({ url }) as unknown as pg.Pool,
    retire: (label) => retired.push(label),
    fallback: (e) => fallbacks.push(e),
    retrying: () => {},
    ranOn: () => {},
  });
  const urlOf = (pool: pg.Pool | null) => (pool === null ? 'primary' : (pool as unknown as { url: string }).url);
  return { r, fallbacks, retired, urlOf };
}

describe('choose', () => {
  it('spreads over the healthy replicas only', () => {
    const { r, urlOf } = router();
    r.update([cluster], health({ r1: 'healthy', r2: 'lagging', r3: 'healthy' }));
    const seen = new Set(Array.from({ length: 10 }, () => urlOf(r.choose(1, 'c1', 0, undefined))));
    expect([...seen].sort()).toEqual(['postgres://r1/db', 'postgres://r3/db']);
  });

  it('falls back to the primary, with the reason, when no replica is healthy', () => {
    const { r, fallbacks, urlOf } = router();
    r.update([cluster], health({ r1: 'draining', r2: 'unhealthy', r3: 'unreachable' }));
    expect(urlOf(r.choose(1, 'c1', 0, undefined))).toBe('primary');
    expect(fallbacks).toEqual([{ orgId: 1, clusterId: 'c1', reason: 'no_healthy_replica' }]);
  });

  it('while an org is pinned, no replica qualifies that has not shown it replayed the write', () => {
    const { r, fallbacks, urlOf } = router();
    r.update([cluster], health({ r1: 'healthy', r2: 'healthy', r3: 'healthy' }));
    r.pin(7, 100n, 0);
    expect(urlOf(r.choose(7, 'c1', 1, undefined))).toBe('primary');
    expect(fallbacks.at(-1)?.reason).toBe('read_your_writes');
    // Other orgs are not pinned; the pin ends after PIN_MS.
    expect(urlOf(r.choose(8, 'c1', 1, undefined))).not.toBe('primary');
    expect(urlOf(r.choose(7, 'c1', PIN_MS + 1, undefined))).not.toBe('primary');
  });

  it('a token from another instance pins the org here too', () => {
    const { r, urlOf } = router();
    r.update([cluster], health({ r1: 'healthy' }));
    expect(urlOf(r.choose(9, 'c1', 0, parseReadToken(formatReadToken(9, 5n, 10_000), 9)))).toBe('primary');
    expect(urlOf(r.choose(9, 'c1', 10_001, parseReadToken(formatReadToken(9, 5n, 10_000), 9)))).toBe('postgres://r1/db');
  });

  it('ends the pool of a replica that left the config or changed its URL', () => {
    const { r, retired } = router();
    r.update([cluster], health({ r1: 'healthy', r2: 'healthy' }));
    for (let i = 0; i < 4; i++) r.choose(1, 'c1', 0, undefined);
    r.update([{ ...cluster, replicas: [{ id: 'r1', url: 'postgres://r1-new/db' }] }], health({ r1: 'healthy' }));
    expect(retired.sort()).toEqual(['replica r1', 'replica r2']);
  });
});

describe('read tokens', () => {
  it('round-trip an org, an LSN and an expiry', () => {
    const token = formatReadToken(42, 0x16b374d848n, 1_800_000_000_000);
    expect(token).toBe('rw1.42.16b374d848.1800000000000');
    expect(parseReadToken(token, 42)).toMatchObject({ lsn: 0x16b374d848n, expiresAt: 1_800_000_000_000 });
  });

  it('refuse another org or a malformed token with INVALID_ARGUMENT', () => {
    expect(() => parseReadToken(formatReadToken(42, 1n, 1), 43)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const bad of ['', 'rw1.42.xyz.1', 'rw2.42.1.1', 'rw1.42.1']) {
      expect(() => parseReadToken(bad, 42), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
