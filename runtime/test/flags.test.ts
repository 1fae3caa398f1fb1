// Flags: murmur3 and the bucketing rule pinned against the libraries the Unleash SDKs use
// (murmurhash3js, unleash-client), the FlagSet's snapshot/delta handling, and bad input.
import murmurhash3js from 'murmurhash3js';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { describe, expect, it } from 'vitest';
import type { RuntimeError } from '../src/errors.js';
import { FlagSet, INVALID_ORG_ID, murmur3_x86_32, rolloutBucket, UNKNOWN_FLAG } from '../src/flags.js';
import { GROUP_ID_MAX_LENGTH, ORG_ID_MAX, type WireCohort, type WireRollout } from '../src/wire.js';
import { once, prng } from './helpers.js';

const GROUP_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-';

function rollout(flag: string, percent: number, extra: Partial<WireRollout> = {}): WireRollout {
  return { flag, groupId: flag, enabled: true, percent, pilotCohort: null, ...extra };
}

function expectInvalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect((error as RuntimeError).code).toBe('INVALID_CONFIG');
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('murmur3_x86_32', () => {
  it('matches the published test vectors', () => {
    const hash = (s: string) => murmur3_x86_32(Buffer.from(s, 'latin1'));
    expect(hash('')).toBe(0);
    expect(hash('hello')).toBe(0x248bfa47);
    expect(hash('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
    expect(murmur3_x86_32(Buffer.from(''), 0, 1)).toBe(0x514e28b7);
  });

  it('equals murmurhash3js (the Unleash SDKs hash) on 20,000 random ASCII strings, every tail length, several seeds', () => {
    const random = prng(7);
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(random() * 48);
      let text = '';
      for (let j = 0; j < length; j++) text += String.fromCharCode(32 + Math.floor(random() * 95));
      const seed = i % 4 === 0 ? Math.floor(random() * 0xffffffff) : 0;
      const bytes = Buffer.from(text, 'latin1');
      const expected = murmurhash3js.x86.hash32(text, seed);
      if (murmur3_x86_32(bytes, bytes.length, seed) !== expected) {
        throw new Error(
          `murmur3(${JSON.stringify(text)}, ${seed}) = ${murmur3_x86_32(bytes, bytes.length, seed)}, murmurhash3js ${expected}`,
        );
      }
    }
  });

  it('hashes only the first `length` bytes', () => {
    const bytes = Buffer.from('new-checkout:1112 and junk after it', 'latin1');
    expect(murmur3_x86_32(bytes, 'new-checkout:1112'.length)).toBe(2083496709);
  });
});

describe('FlagSet bucketing', () => {
  it('pins a boundary: org 1112 has bucket 10 in group new-checkout, so it is out at 9 % and in at 10 %', () => {
    expect(rolloutBucket('new-checkout', 1112)).toBe(10);
    expect(2083496709 % 100).toBe(9);
    expect(FlagSet.fromSnapshot([rollout('new-checkout', 9)], []).isEnabled('new-checkout', 1112)).toBe(false);
    expect(FlagSet.fromSnapshot([rollout('new-checkout', 10)], []).isEnabled('new-checkout', 1112)).toBe(true);
    // Org 1004 has bucket 11: out at 10 %.
    expect(rolloutBucket('new-checkout', 1004)).toBe(11);
    expect(FlagSet.fromSnapshot([rollout('new-checkout', 10)], []).isEnabled('new-checkout', 1004)).toBe(false);
    // The groupId, not the flag name, is hashed.
    const renamed = FlagSet.fromSnapshot([rollout('checkout-v2', 10, { groupId: 'new-checkout' })], []);
    expect(renamed.isEnabled('checkout-v2', 1112)).toBe(true);
    expect(renamed.isEnabled('checkout-v2', 1004)).toBe(false);
  });

  it('writes every org id in decimal exactly as a string would (digit counts, the 10^8 split, 2^53 - 1)', () => {
    const ids = [
      0,
      1,
      9,
      10,
      99,
      100,
      99_999_999,
      100_000_000,
      100_000_001,
      100_000_010,
      123_456_789_012,
      10 ** 15,
      ORG_ID_MAX - 1,
      ORG_ID_MAX,
    ];
    const random = prng(11);
    for (let i = 0; i < 2000; i++) ids.push(Math.floor(random() * ORG_ID_MAX), Math.floor(random() * 1e9));
    const disagreements: string[] = [];
    for (const percent of [1, 37, 99]) {
      const set = FlagSet.fromSnapshot([rollout('g.x_y:z-1', percent)], []);
      for (const orgId of ids) {
        if (set.isEnabled('g.x_y:z-1', orgId) !== rolloutBucket('g.x_y:z-1', orgId) <= percent)
          disagreements.push(`org ${orgId} at ${percent} %`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('any groupId of the allowed charset decides as the Unleash rule computed with murmurhash3js', () => {
    const random = prng(13);
    const disagreements: string[] = [];
    for (let i = 0; i < 300; i++) {
      let groupId = '';
      const length = 1 + Math.floor(random() * 40);
      for (let j = 0; j < length; j++) groupId += GROUP_ID_CHARS[Math.floor(random() * GROUP_ID_CHARS.length)];
      const percent = Math.floor(random() * 101);
      const set = FlagSet.fromSnapshot([rollout('f', percent, { groupId })], []);
      for (let k = 0; k < 50; k++) {
        const orgId = Math.floor(random() * 2 ** (1 + Math.floor(random() * 52)));
        const unleash = percent > 0 && (murmurhash3js.x86.hash32(`${groupId}:${orgId}`, 0) % 100) + 1 <= percent;
        if (set.isEnabled('f', orgId) !== unleash) disagreements.push(`group ${groupId}, org ${orgId}, ${percent} %`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('is monotonic over 100,000 orgs: in at p % means in at every q > p; about p % are in', () => {
    const percents = [0, 1, 5, 10, 25, 50, 75, 99, 100];
    const sets = percents.map((p) => FlagSet.fromSnapshot([rollout('monotonic', p)], []));
    const counts = percents.map(() => 0);
    for (let orgId = 0; orgId < 100_000; orgId++) {
      let wasIn = false;
      for (let i = 0; i < sets.length; i++) {
        const isIn = sets[i]!.isEnabled('monotonic', orgId);
        if (wasIn && !isIn) throw new Error(`org ${orgId} is in at ${percents[i - 1]} % but out at ${percents[i]} %`);
        wasIn = isIn;
        if (isIn) counts[i]!++;
      }
    }
    expect(counts[0]).toBe(0);
    expect(counts.at(-1)).toBe(100_000);
    percents.forEach((p, i) => {
      expect(Math.abs(counts[i]! / 1000 - p)).toBeLessThan(1.5);
    });
  });

  it('pilot members are in at 0 %, and stay in at every stage; enabled=false turns everyone off, pilots included', () => {
    const pilot: WireCohort = { name: 'pilot-a', orgIds: [3, 1112, 77_000_000_000] };
    const flag = (percent: number, enabled = true) =>
      FlagSet.fromSnapshot([rollout('new-checkout', percent, { pilotCohort: 'pilot-a', enabled })], [pilot]);
    for (const percent of [0, 1, 10, 50, 100]) {
      for (const orgId of pilot.orgIds) expect(flag(percent).isEnabled('new-checkout', orgId)).toBe(true);
    }
    expect(flag(0).isEnabled('new-checkout', 4)).toBe(false);
    for (let orgId = 0; orgId < 2000; orgId++) {
      expect(flag(0, false).isEnabled('new-checkout', orgId)).toBe(false);
      expect(flag(100, false).isEnabled('new-checkout', orgId)).toBe(false);
    }
    expect(flag(100, false).isEnabled('new-checkout', 1112)).toBe(false);
  });

  it('answers the fallback for an unknown flag, and for an invalid org id names it INVALID_ORG_ID without throwing', () => {
    const set = FlagSet.fromSnapshot([rollout('known', 100)], []);
    expect(set.isEnabled('unknown', 5)).toBe(false);
    expect(set.isEnabled('unknown', 5, true)).toBe(true);
    expect(set.decide('unknown', 5)).toBe(UNKNOWN_FLAG);
    expect(set.isEnabled('known', 5, false)).toBe(true);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, '5' as unknown as number, undefined as unknown as number]) {
      expect(set.decide('known', bad)).toBe(INVALID_ORG_ID);
      // A 100 % flag would answer true for any valid org: the fallback wins both ways.
      expect(set.isEnabled('known', bad)).toBe(false);
      expect(set.isEnabled('known', bad, true)).toBe(true);
    }
  });

  it('a pilot naming an unknown cohort is empty until the cohort arrives', () => {
    const set = FlagSet.fromSnapshot([rollout('f', 0, { pilotCohort: 'late' })], []);
    expect(set.isEnabled('f', 42)).toBe(false);
    const later = set.applyDelta({ cohorts: { upsert: [{ name: 'late', orgIds: [42] }], remove: [] } });
    expect(later.isEnabled('f', 42)).toBe(true);
    expect(set.isEnabled('f', 42)).toBe(false); // sets are immutable
  });
});

describe('FlagSet deltas', () => {
  const base = () =>
    FlagSet.fromSnapshot(
      [rollout('a', 0, { pilotCohort: 'pilot' }), rollout('b', 100)],
      [
        { name: 'pilot', orgIds: [1, 2, 3] },
        { name: 'spare', orgIds: [9] },
      ],
    );

  it('rollouts replace the whole list; cohorts are upserted and removed; untouched parts are kept', () => {
    const set = base();
    expect(set.applyDelta({})).toBe(set);
    const next = set.applyDelta({ rollouts: [rollout('a', 100, { pilotCohort: 'pilot' }), rollout('c', 0, { pilotCohort: 'spare' })] });
    expect(next.has('b')).toBe(false);
    expect(next.isEnabled('c', 9)).toBe(true);
    expect(next.isEnabled('a', 1_234_567)).toBe(true);

    const cohorts = next.applyDelta({ cohorts: { upsert: [{ name: 'pilot', orgIds: [10, 4, 7] }], remove: ['spare'] } });
    expect(cohorts.isEnabled('c', 9)).toBe(false);
    expect(cohorts.cohorts()).toEqual([{ name: 'pilot', orgIds: [4, 7, 10] }]);
    expect(cohorts.rollouts()).toEqual(next.rollouts());
    const zero = cohorts.applyDelta({ rollouts: [rollout('a', 0, { pilotCohort: 'pilot' })] });
    expect([1, 4, 7, 10].map((o) => zero.isEnabled('a', o))).toEqual([false, true, true, true]);
  });

  it('an invalid change is refused by name and changes nothing', () => {
    const set = base();
    const before = { rollouts: set.rollouts(), cohorts: set.cohorts() };
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', 101)] }), /percent must be an integer in 0\.\.100, not 101/);
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', 2.5)] }), /percent/);
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', -1)] }), /percent/);
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', 5, { groupId: 'naïve' })] }), /groupId/);
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', 5, { groupId: 'a b' })] }), /groupId/);
    // The control plane stores no longer groupId (it imports the same GROUP_ID_MAX_LENGTH).
    expect(() => base().applyDelta({ rollouts: [rollout('a', 5, { groupId: 'g'.repeat(GROUP_ID_MAX_LENGTH) })] })).not.toThrow();
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', 5, { groupId: 'g'.repeat(GROUP_ID_MAX_LENGTH + 1) })] }), /groupId/);
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', 5), rollout('a', 6)] }), /appears twice/);
    expectInvalid(() => set.applyDelta({ rollouts: [rollout('a', 5, { enabled: 'yes' as unknown as boolean })] }), /enabled/);
    expectInvalid(() => set.applyDelta({ cohorts: { upsert: [{ name: 'x', orgIds: [1, -2] }], remove: [] } }), /invalid org id -2/);
    expectInvalid(() => set.applyDelta({ cohorts: { upsert: [], remove: [3 as unknown as string] } }), /non-string/);
    expectInvalid(() => set.applyDelta({ cohorts: [] as unknown as { upsert: WireCohort[]; remove: string[] } }), /upsert/);
    expectInvalid(() => FlagSet.fromSnapshot([rollout('', 5)], []), /no flag name/);
    expect({ rollouts: set.rollouts(), cohorts: set.cohorts() }).toEqual(before);
    expect(set.isEnabled('a', 2)).toBe(true);
  });

  it('an empty groupId means the flag name, as in Unleash', () => {
    const set = FlagSet.fromSnapshot([rollout('new-checkout', 10, { groupId: '' })], []);
    expect(set.rollouts()[0]!.groupId).toBe('new-checkout');
    expect(set.isEnabled('new-checkout', 1112)).toBe(true);
  });
});

describe('FlagSet against the official unleash-client', () => {
  interface UnleashFeature {
    name: string;
    enabled: boolean;
    strategies: { name: string; parameters: Record<string, string>; constraints?: unknown[] }[];
  }

  /** The Unleash feature equivalent to a rollout (control-plane/API.md, "Unleash client API"). */
  function toUnleash(r: WireRollout, cohorts: WireCohort[]): UnleashFeature {
    const strategies: UnleashFeature['strategies'] = [
      { name: 'flexibleRollout', parameters: { rollout: String(r.percent), stickiness: 'orgId', groupId: r.groupId } },
    ];
    const pilot = cohorts.find((c) => c.name === r.pilotCohort);
    if (pilot) {
      strategies.push({
        name: 'default',
        parameters: {},
        constraints: [{ contextName: 'orgId', operator: 'IN', values: pilot.orgIds.map(String) }],
      });
    }
    return { name: r.flag, enabled: r.enabled, strategies };
  }

  it('decides exactly as unleash-client for 20,000 orgs at several percents, with a pilot and a kill switch', async () => {
    const random = prng(2026);
    const pilotIds = new Set<number>();
    while (pilotIds.size < 500) pilotIds.add(Math.floor(random() * 1e7));
    const cohorts: WireCohort[] = [{ name: 'pilot', orgIds: [...pilotIds].sort((a, b) => a - b) }];
    const rollouts: WireRollout[] = [0, 1, 9, 10, 33, 50, 99, 100].map((percent) =>
      rollout(`flag-${percent}`, percent, { groupId: `group.${percent}`, pilotCohort: percent % 2 === 0 ? 'pilot' : null }),
    );
    rollouts.push(rollout('killed', 100, { enabled: false, pilotCohort: 'pilot' }));
    rollouts.push(rollout('pilot-only', 0, { pilotCohort: 'pilot' }));
    const set = FlagSet.fromSnapshot(rollouts, cohorts);

    // Offline: the bootstrap is the only source; the URL is a closed port and the first
    // fetch fails quietly (refreshInterval 0 fetches once and stops).
    const unleash = new Unleash({
      appName: 'orgplane-runtime-test',
      url: 'http://127.0.0.1:9/api/',
      refreshInterval: 0,
      disableMetrics: true,
      bootstrap: { data: rollouts.map((r) => toUnleash(r, cohorts)) as never },
      storageProvider: new InMemStorageProvider(),
    });
    unleash.on('error', () => {});
    unleash.on('warn', () => {});
    try {
      await once(unleash, 'ready');
      const orgIds = [...pilotIds].slice(0, 200);
      while (orgIds.length < 20_000) {
        const orgId = Math.floor(random() * 1e7);
        if (!pilotIds.has(orgId)) orgIds.push(orgId);
      }
      let mismatches = 0;
      const enabled = new Map<string, number>();
      for (const r of rollouts) {
        for (const orgId of orgIds) {
          const ours = set.isEnabled(r.flag, orgId);
          const theirs = unleash.isEnabled(r.flag, { properties: { orgId: String(orgId) } });
          if (ours !== theirs) mismatches++;
          if (ours) enabled.set(r.flag, (enabled.get(r.flag) ?? 0) + 1);
        }
      }
      expect(mismatches).toBe(0);
      // The comparison means something: flags are neither all on nor all off.
      expect(enabled.get('flag-0')).toBe(200);
      expect(enabled.get('pilot-only')).toBe(200);
      expect(enabled.get('killed')).toBeUndefined();
      expect(enabled.get('flag-100')).toBe(20_000);
      expect(enabled.get('flag-9')!).toBeGreaterThan(1000);
    } finally {
      unleash.destroy();
    }
  });
});
