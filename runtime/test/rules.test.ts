import { describe, expect, it } from 'vitest';
import { Router } from '../src/router.js';
import { ownerLookup, ownerOf, rangeHolding } from '../src/rules.js';
import { ORG_ID_MAX, type WirePlacement, type WireRange } from '../src/wire.js';

const RANGES: WireRange[] = [
  { lo: 100, hi: 199, clusterId: 'b' },
  { lo: 0, hi: 99, clusterId: 'a' },
  { lo: 300, hi: ORG_ID_MAX, clusterId: 'c' },
];
const PINS: WirePlacement[] = [
  { orgId: 5, clusterId: 'c', state: 'fenced', epoch: 1 },
  { orgId: 250, clusterId: 'a', state: 'moved', epoch: 2 },
];

describe('ownerOf', () => {
  it('takes the pin over the range, whatever the pin state, and null when neither', () => {
    expect(ownerOf({ clusterId: 'p' }, { clusterId: 'r' })).toBe('p');
    expect(ownerOf(undefined, { clusterId: 'r' })).toBe('r');
    expect(ownerOf(null, null)).toBeNull();
  });
});

describe('rangeHolding', () => {
  const sorted = [...RANGES].sort((a, b) => a.lo - b.lo);
  it('finds the range at both bounds and nothing in a hole', () => {
    expect(rangeHolding(sorted, 0)?.clusterId).toBe('a');
    expect(rangeHolding(sorted, 99)?.clusterId).toBe('a');
    expect(rangeHolding(sorted, 100)?.clusterId).toBe('b');
    expect(rangeHolding(sorted, 199)?.clusterId).toBe('b');
    expect(rangeHolding(sorted, 200)).toBeUndefined();
    expect(rangeHolding(sorted, 299)).toBeUndefined();
    expect(rangeHolding(sorted, ORG_ID_MAX)?.clusterId).toBe('c');
    expect(rangeHolding([], 1)).toBeUndefined();
  });
});

describe('ownerLookup', () => {
  it('answers exactly like the runtime Router on every boundary, from an array or a Map of pins', () => {
    const router = new Router();
    router.applySnapshot({
      version: 1,
      generatedAt: new Date(0).toISOString(),
      clusters: ['a', 'b', 'c'].map((id) => ({ id, state: 'active', primary: { url: `postgres://${id}` }, replicas: [] })),
      ranges: RANGES,
      placements: PINS,
      replicas: [],
      rollouts: [],
      cohorts: [],
    });
    const fromArray = ownerLookup(RANGES, PINS);
    const fromMap = ownerLookup(RANGES, new Map(PINS.map((p) => [p.orgId, p])));
    for (const orgId of [0, 4, 5, 6, 99, 100, 199, 250, 300, ORG_ID_MAX]) {
      expect(fromArray(orgId)).toBe(router.route(orgId));
      expect(fromMap(orgId)).toBe(router.route(orgId));
    }
    expect(fromArray(200)).toBeNull();
    expect(() => router.route(200)).toThrow(expect.objectContaining({ code: 'NO_ROUTE' }));
  });

  it('answers null for an org id the map could not hold, even one a range or pin would match', () => {
    const lookup = ownerLookup([{ lo: 0, hi: ORG_ID_MAX, clusterId: 'a' }], [{ orgId: -1, clusterId: 'b' }]);
    expect(lookup(7)).toBe('a');
    for (const bad of [-1, 1.5, Number.NaN, ORG_ID_MAX + 1, '7' as unknown as number]) expect(lookup(bad)).toBeNull();
  });
});
