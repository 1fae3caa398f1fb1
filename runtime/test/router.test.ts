import { describe, expect, it } from 'vitest';
import { InvalidOrgIdError, NoRouteError, RuntimeError } from '../src/errors.js';
import { linearRoute, Router } from '../src/router.js';
import { type ConfigSnapshot, ORG_ID_MAX, type WirePlacement, type WireRange } from '../src/wire.js';
import { CLUSTERS, cluster, prng, RANGES } from './helpers.js';

function routerWith(ranges: WireRange[] = RANGES): Router {
  const router = new Router();
  router.setRanges(ranges);
  return router;
}

function snapshot(overrides: Partial<ConfigSnapshot> = {}): ConfigSnapshot {
  return {
    version: 7,
    generatedAt: '2026-11-23T00:00:00.000Z',
    clusters: CLUSTERS,
    ranges: RANGES,
    placements: [],
    replicas: [],
    rollouts: [],
    cohorts: [],
    ...overrides,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as RuntimeError).code;
  }
  return undefined;
}

describe('Router ranges', () => {
  it('routes each range edge to its own cluster, up to ORG_ID_MAX', () => {
    const router = routerWith();
    expect(router.route(0)).toBe('primary-1');
    expect(router.route(999_999)).toBe('primary-1');
    expect(router.route(1_000_000)).toBe('primary-2');
    expect(router.route(1_999_999)).toBe('primary-2');
    expect(router.route(2_000_000)).toBe('primary-3');
    expect(router.route(ORG_ID_MAX - 1)).toBe('primary-3');
    expect(router.route(ORG_ID_MAX)).toBe('primary-3');
  });

  it('accepts ranges in any order and finds single-id ranges', () => {
    const router = routerWith([
      { lo: 11, hi: ORG_ID_MAX, clusterId: 'c' },
      { lo: 10, hi: 10, clusterId: 'b' },
      { lo: 0, hi: 9, clusterId: 'a' },
    ]);
    expect([9, 10, 11].map((id) => router.route(id))).toEqual(['a', 'b', 'c']);
    expect(router.ranges().map((r) => r.lo)).toEqual([0, 10, 11]);
  });

  it('answers NO_ROUTE in a gap between ranges and with no ranges at all', () => {
    const router = routerWith([
      { lo: 0, hi: 9, clusterId: 'a' },
      { lo: 20, hi: ORG_ID_MAX, clusterId: 'b' },
    ]);
    expect(router.route(9)).toBe('a');
    expect(() => router.route(10)).toThrow(NoRouteError);
    expect(codeOf(() => router.route(19))).toBe('NO_ROUTE');
    expect(router.route(20)).toBe('b');
    expect(codeOf(() => new Router().route(0))).toBe('NO_ROUTE');
  });

  it('refuses overlapping and malformed ranges and keeps the old ones', () => {
    const router = routerWith();
    expect(
      codeOf(() =>
        router.setRanges([
          { lo: 0, hi: 10, clusterId: 'a' },
          { lo: 10, hi: 20, clusterId: 'b' },
        ]),
      ),
    ).toBe('INVALID_CONFIG');
    expect(codeOf(() => router.setRanges([{ lo: 5, hi: 4, clusterId: 'a' }]))).toBe('INVALID_CONFIG');
    expect(codeOf(() => router.setRanges([{ lo: 0, hi: 2 ** 53, clusterId: 'a' }]))).toBe('INVALID_CONFIG');
    expect(codeOf(() => router.setRanges([{ lo: 0, hi: 1, clusterId: '' }]))).toBe('INVALID_CONFIG');
    expect(router.route(1_000_000)).toBe('primary-2');
  });
});

describe('Router org id validation', () => {
  const invalid: unknown[] = [-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY, -0.5, '5', null, undefined, 5n];

  it.each(invalid)('route(%s) throws InvalidOrgIdError', (orgId) => {
    const router = routerWith();
    expect(() => router.route(orgId as number)).toThrow(InvalidOrgIdError);
    expect(codeOf(() => router.route(orgId as number))).toBe('INVALID_ORG_ID');
  });

  it('validates ids in pin, unpin and placement too, and in the baseline', () => {
    const router = routerWith();
    expect(codeOf(() => router.pin(-1, 'a'))).toBe('INVALID_ORG_ID');
    expect(codeOf(() => router.pin(2 ** 53, 'a'))).toBe('INVALID_ORG_ID');
    expect(codeOf(() => router.unpin(1.5))).toBe('INVALID_ORG_ID');
    expect(codeOf(() => router.placement(Number.NaN))).toBe('INVALID_ORG_ID');
    expect(codeOf(() => linearRoute(RANGES, new Map(), -1))).toBe('INVALID_ORG_ID');
    expect(router.pinCount).toBe(0);
  });

  it('InvalidOrgIdError is a RuntimeError with a code', () => {
    const error = new InvalidOrgIdError(-1);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error.code).toBe('INVALID_ORG_ID');
    expect(error.message).toContain('-1');
  });
});

describe('Router pins', () => {
  it('a pin overrides the range, whatever its state; unpin falls back to the range', () => {
    const router = routerWith();
    router.pin(500, 'primary-3', 'fenced', 7);
    expect(router.route(500)).toBe('primary-3');
    expect(router.route(499)).toBe('primary-1');
    expect(router.route(501)).toBe('primary-1');
    expect(router.placement(500)).toEqual({ orgId: 500, clusterId: 'primary-3', state: 'fenced', epoch: 7 });
    router.pin(500, 'primary-2', 'moved', 8);
    expect(router.route(500)).toBe('primary-2');
    expect(router.placement(500)?.state).toBe('moved');
    expect(router.pinCount).toBe(1);
    expect(router.unpin(500)).toBe(true);
    expect(router.route(500)).toBe('primary-1');
    expect(router.placement(500)).toBeUndefined();
    expect(router.unpin(500)).toBe(false);
    expect(router.pinCount).toBe(0);
  });

  it('pins the extreme ids 0 and ORG_ID_MAX', () => {
    const router = routerWith();
    router.pin(0, 'primary-2');
    router.pin(ORG_ID_MAX, 'primary-1');
    expect(router.route(0)).toBe('primary-2');
    expect(router.route(ORG_ID_MAX)).toBe('primary-1');
    expect(router.route(1)).toBe('primary-1');
    expect(router.route(ORG_ID_MAX - 1)).toBe('primary-3');
    expect(router.placement(ORG_ID_MAX)).toEqual({ orgId: ORG_ID_MAX, clusterId: 'primary-1', state: 'active', epoch: 0 });
  });

  it('tells apart ids that share their low 32 bits', () => {
    const router = routerWith();
    // 64 ids with equal low halves: more than the 16 hash tags, so full-key checks must decide.
    const ids = Array.from({ length: 64 }, (_, k) => k * 2 ** 32 + 5);
    for (const [k, orgId] of ids.entries()) router.pin(orgId, `c${k}`);
    expect(ids.map((orgId) => router.route(orgId))).toEqual(ids.map((_, k) => `c${k}`));
    expect(router.route(64 * 2 ** 32 + 5)).toBe('primary-3');
    router.unpin(2 ** 32 + 5);
    router.unpin(5);
    expect(router.route(5)).toBe('primary-1');
    expect(router.route(2 ** 32 + 5)).toBe('primary-3');
    expect(router.route(2 * 2 ** 32 + 5)).toBe('c2');
    expect(router.placement(63 * 2 ** 32 + 5)).toEqual({ orgId: 63 * 2 ** 32 + 5, clusterId: 'c63', state: 'active', epoch: 0 });
  });

  it('routes pinned orgs in a gap between ranges', () => {
    const router = routerWith([{ lo: 0, hi: 9, clusterId: 'a' }]);
    router.pin(15, 'b');
    expect(router.route(15)).toBe('b');
    expect(codeOf(() => router.route(16))).toBe('NO_ROUTE');
  });

  it('delete then reinsert the same ids, with tombstones in the probe chains', () => {
    const router = routerWith();
    for (let id = 0; id < 1000; id++) router.pin(id * 7919, 'primary-2');
    for (let id = 0; id < 1000; id += 2) expect(router.unpin(id * 7919)).toBe(true);
    expect(router.pinCount).toBe(500);
    for (let id = 1; id < 1000; id += 2) expect(router.route(id * 7919)).toBe('primary-2');
    for (let id = 0; id < 1000; id += 2) expect(router.placement(id * 7919)).toBeUndefined();
    for (let id = 0; id < 1000; id += 2) router.pin(id * 7919, 'primary-3', 'active', 2);
    expect(router.pinCount).toBe(1000);
    for (let id = 0; id < 1000; id++) expect(router.route(id * 7919)).toBe(id % 2 === 0 ? 'primary-3' : 'primary-2');
  });

  it('grows past 200,000 pins and answers exactly like linearRoute on random ids', () => {
    const random = prng(42);
    const router = routerWith();
    const pins = new Map<number, WirePlacement>();
    const clusters = ['primary-1', 'primary-2', 'primary-3', 'primary-4'];
    const randomId = () => (random() < 0.8 ? Math.floor(random() * 10_000_000) : Math.floor(random() * (ORG_ID_MAX + 1)));
    while (pins.size < 210_000) {
      const orgId = randomId();
      const placement: WirePlacement = { orgId, clusterId: clusters[Math.floor(random() * 4)]!, state: 'active', epoch: 1 };
      pins.set(orgId, placement);
      router.pin(orgId, placement.clusterId, placement.state, placement.epoch);
    }
    // Remove a third, re-pin some elsewhere.
    let i = 0;
    for (const orgId of [...pins.keys()]) {
      if (i++ % 3 !== 0) continue;
      pins.delete(orgId);
      expect(router.unpin(orgId)).toBe(true);
      if (i % 2 === 0) {
        pins.set(orgId, { orgId, clusterId: 'primary-5', state: 'fenced', epoch: 2 });
        router.pin(orgId, 'primary-5', 'fenced', 2);
      }
    }
    expect(router.pinCount).toBe(pins.size);
    expect(pins.size).toBeGreaterThan(150_000);
    let mismatches = 0;
    for (const orgId of pins.keys()) if (router.route(orgId) !== linearRoute(RANGES, pins, orgId)) mismatches++;
    for (let n = 0; n < 300_000; n++) {
      const orgId = randomId();
      if (router.route(orgId) !== linearRoute(RANGES, pins, orgId)) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(router.placements().length).toBe(pins.size);
  });

  it('matches a Map under heavy churn in a small id space', () => {
    const random = prng(7);
    const router = routerWith();
    const pins = new Map<number, WirePlacement>();
    for (let n = 0; n < 200_000; n++) {
      const orgId = Math.floor(random() * 5000);
      if (random() < 0.45) {
        expect(router.unpin(orgId)).toBe(pins.delete(orgId));
      } else {
        const clusterId = random() < 0.5 ? 'primary-2' : 'primary-3';
        pins.set(orgId, { orgId, clusterId, state: 'active', epoch: n });
        router.pin(orgId, clusterId, 'active', n);
      }
    }
    expect(router.pinCount).toBe(pins.size);
    for (let orgId = 0; orgId < 5000; orgId++) {
      expect(router.route(orgId)).toBe(linearRoute(RANGES, pins, orgId));
      expect(router.placement(orgId)?.epoch).toBe(pins.get(orgId)?.epoch);
    }
  });
});

describe('Router snapshots and deltas', () => {
  it('applySnapshot replaces clusters, ranges and pins', () => {
    const router = routerWith([{ lo: 0, hi: ORG_ID_MAX, clusterId: 'old' }]);
    router.pin(1, 'old');
    router.applySnapshot(snapshot({ placements: [{ orgId: 5, clusterId: 'primary-2', state: 'active', epoch: 3 }] }));
    expect(router.route(1)).toBe('primary-1');
    expect(router.route(5)).toBe('primary-2');
    expect(router.pinCount).toBe(1);
    expect(router.cluster('primary-2')?.primary.url).toBe('postgres://primary-2.db.invalid:5432/app');
    expect(router.cluster('old')).toBeUndefined();
  });

  it('applyDelta: ranges replace, placements are removed then upserted, clusters replace', () => {
    const router = new Router();
    router.applySnapshot(
      snapshot({
        placements: [
          { orgId: 5, clusterId: 'primary-2', state: 'active', epoch: 1 },
          { orgId: 6, clusterId: 'primary-2', state: 'active', epoch: 1 },
        ],
      }),
    );
    router.applyDelta({
      version: 8,
      action: 'shard-map.split',
      ranges: [{ lo: 0, hi: 499_999, clusterId: 'primary-1' }, { lo: 500_000, hi: 999_999, clusterId: 'primary-3' }, ...RANGES.slice(1)],
    });
    expect(router.route(499_999)).toBe('primary-1');
    expect(router.route(500_000)).toBe('primary-3');
    expect(router.route(5)).toBe('primary-2');

    router.applyDelta({
      version: 9,
      action: 'placement.set',
      placements: {
        upsert: [
          { orgId: 6, clusterId: 'primary-3', state: 'fenced', epoch: 2 },
          { orgId: 600_000, clusterId: 'primary-1', state: 'active', epoch: 1 },
        ],
        remove: [5, 6],
      },
    });
    expect(router.route(5)).toBe('primary-1');
    expect(router.placement(6)).toEqual({ orgId: 6, clusterId: 'primary-3', state: 'fenced', epoch: 2 });
    expect(router.route(600_000)).toBe('primary-1');
    expect(router.pinCount).toBe(2);

    router.applyDelta({ version: 10, action: 'cluster.create', clusters: [...CLUSTERS, cluster('primary-4')] });
    expect(router.cluster('primary-4')?.id).toBe('primary-4');
    expect(router.clusters().map((c) => c.id)).toEqual(['primary-1', 'primary-2', 'primary-3', 'primary-4']);
  });

  it('an invalid delta changes nothing', () => {
    const router = new Router();
    router.applySnapshot(snapshot({ placements: [{ orgId: 5, clusterId: 'primary-2', state: 'active', epoch: 1 }] }));
    const bad = [
      {
        version: 8,
        action: 'x',
        ranges: [
          { lo: 0, hi: 10, clusterId: 'a' },
          { lo: 5, hi: ORG_ID_MAX, clusterId: 'b' },
        ],
        placements: { upsert: [], remove: [5] },
      },
      { version: 8, action: 'x', placements: { upsert: [{ orgId: -3, clusterId: 'a', state: 'active', epoch: 1 }], remove: [5] } },
      { version: 8, action: 'x', placements: { upsert: [{ orgId: 3, clusterId: 'a', state: 'gone', epoch: 1 }], remove: [5] } },
      { version: 8, action: 'x', placements: { upsert: [], remove: [1.5] } },
    ];
    for (const delta of bad) {
      expect(codeOf(() => router.applyDelta(delta as never))).toBe('INVALID_CONFIG');
      expect(router.route(5)).toBe('primary-2');
      expect(router.route(1_000_000)).toBe('primary-2');
      expect(router.pinCount).toBe(1);
    }
  });

  it('an invalid snapshot changes nothing', () => {
    const router = new Router();
    router.applySnapshot(snapshot());
    expect(
      codeOf(() =>
        router.applySnapshot(
          snapshot({
            ranges: [{ lo: 0, hi: 5, clusterId: 'x' }],
            placements: [{ orgId: 1, clusterId: 'x', state: 'active', epoch: Number.NaN }],
          }),
        ),
      ),
    ).toBe('INVALID_CONFIG');
    expect(router.route(1_000_000)).toBe('primary-2');
  });

  it('exportPins is a compact copy that later changes do not touch', () => {
    const router = routerWith();
    router.pin(3, 'primary-2', 'fenced', 4);
    router.pin(9, 'primary-3');
    const copy = router.exportPins();
    router.unpin(3);
    expect(copy.count).toBe(2);
    const rows = Array.from({ length: copy.count }, (_, i) => [
      copy.orgIds[i],
      copy.clusterIds[copy.clusterIndexes[i]!],
      copy.states[i],
      copy.epochs[i],
    ]);
    expect(rows.sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [3, 'primary-2', 1, 4],
      [9, 'primary-3', 0, 0],
    ]);
  });
});

describe('linearRoute (the benchmark baseline)', () => {
  it('pins first, then the first covering range', () => {
    const pins = new Map([[5, { clusterId: 'primary-3' }]]);
    expect(linearRoute(RANGES, pins, 5)).toBe('primary-3');
    expect(linearRoute(RANGES, pins, 6)).toBe('primary-1');
    expect(linearRoute(RANGES, pins, ORG_ID_MAX)).toBe('primary-3');
    expect(codeOf(() => linearRoute([{ lo: 0, hi: 1, clusterId: 'a' }], pins, 2))).toBe('NO_ROUTE');
  });
});
