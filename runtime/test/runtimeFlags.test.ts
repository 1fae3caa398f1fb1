import { describe, expect, it } from 'vitest';
import { DiskCache } from '../src/diskCache.js';
import { rolloutBucket } from '../src/flags.js';
import type { FlagErrorEvent } from '../src/runtime.js';
import type { WireRollout } from '../src/wire.js';
import { CLUSTERS, RANGES, reach, runtimeFixture, until } from './helpers.js';

const CHECKOUT: WireRollout = { flag: 'new-checkout', groupId: 'new-checkout', enabled: true, percent: 10, pilotCohort: 'pilot' };

const fx = runtimeFixture(
  'orgplane-flags-',
  () => ({
    version: 3,
    clusters: CLUSTERS,
    ranges: RANGES,
    rollouts: [CHECKOUT],
    cohorts: [{ name: 'pilot', orgIds: [5, 6] }],
  }),
  { cacheDebounceMs: 5 },
);
const start = fx.start;

// Org 1112 has bucket 10 in group new-checkout, org 1004 bucket 11 (flags.test.ts pins them).
describe('runtime.isEnabled', () => {
  it('decides from the snapshot, then follows rollout and cohort changes on the watch stream', async () => {
    expect(rolloutBucket('new-checkout', 1112)).toBe(10);
    const { runtime } = start();
    await runtime.ready(10_000);
    expect(runtime.isEnabled('new-checkout', { orgId: 1112 })).toBe(true);
    expect(runtime.isEnabled('new-checkout', { orgId: 1004 })).toBe(false);
    expect(runtime.isEnabled('new-checkout', { orgId: 6 })).toBe(true);

    fx.server.commit({ action: 'rollout.advance', rollouts: [{ ...CHECKOUT, percent: 11 }] });
    await reach(runtime, 4);
    expect(runtime.isEnabled('new-checkout', { orgId: 1004 })).toBe(true);

    fx.server.commit({ action: 'cohort.update', cohorts: { upsert: [{ name: 'pilot', orgIds: [5, 7] }], remove: [] } });
    await reach(runtime, 5);
    expect(runtime.isEnabled('new-checkout', { orgId: 6 })).toBe(false);
    expect(runtime.isEnabled('new-checkout', { orgId: 7 })).toBe(true);

    fx.server.commit({ action: 'rollout.kill', rollouts: [{ ...CHECKOUT, enabled: false }] });
    await reach(runtime, 6);
    for (const orgId of [5, 7, 1004, 1112]) expect(runtime.isEnabled('new-checkout', { orgId })).toBe(false);

    // A change that touches only placements leaves the flags alone.
    fx.server.commit({ action: 'rollout.resume', rollouts: [CHECKOUT] });
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 5, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] },
    });
    await reach(runtime, 8);
    expect(runtime.isEnabled('new-checkout', { orgId: 7 })).toBe(true);
  });

  it('an unknown flag, or no config yet, answers the fallback and is counted', async () => {
    fx.server.refuseWith = 503;
    const { runtime } = start();
    expect(runtime.isEnabled('new-checkout', { orgId: 6 })).toBe(false);
    expect(runtime.isEnabled('new-checkout', { orgId: 6 }, true)).toBe(true);
    fx.server.refuseWith = undefined;
    await runtime.ready(10_000);
    expect(runtime.isEnabled('nope', { orgId: 6 }, true)).toBe(true);
    expect(runtime.isEnabled('new-checkout', { orgId: 6 }, false)).toBe(true);
    expect(runtime.isEnabled('new-checkout', { orgId: -1 })).toBe(false);
    const text = await runtime.metrics.metrics();
    expect(text).toContain('orgplane_runtime_flag_evaluations_total 5');
    expect(text).toContain('orgplane_runtime_flag_fallbacks_total 4');
    // Read at scrape time, so a second scrape does not count twice.
    expect(await runtime.metrics.metrics()).toContain('orgplane_runtime_flag_evaluations_total 5');
  });

  it('never throws for a bad org id: it answers the fallback, emits flag-error and counts it by reason', async () => {
    const { runtime } = start();
    await runtime.ready(10_000);
    const events: FlagErrorEvent[] = [];
    runtime.on('flag-error', (event) => events.push(event));
    // Org 6 is in the pilot, so a valid id would answer true: the answers below are the fallbacks.
    expect(runtime.isEnabled('new-checkout', { orgId: 6 })).toBe(true);
    expect(runtime.isEnabled('new-checkout', { orgId: -6 }, false)).toBe(false);
    expect(runtime.isEnabled('new-checkout', { orgId: 6.5 }, true)).toBe(true);
    expect(runtime.isEnabled('new-checkout', { orgId: '6' as unknown as number })).toBe(false);
    expect(runtime.isEnabled('new-checkout', undefined as unknown as { orgId: number }, true)).toBe(true);
    // An unknown flag is not an error, whatever the org id.
    expect(runtime.isEnabled('nope', { orgId: -1 }, true)).toBe(true);
    expect(events).toEqual([
      { flag: 'new-checkout', orgId: -6, reason: 'invalid_org_id', fallback: false },
      { flag: 'new-checkout', orgId: 6.5, reason: 'invalid_org_id', fallback: true },
      { flag: 'new-checkout', orgId: '6', reason: 'invalid_org_id', fallback: false },
      { flag: 'new-checkout', orgId: undefined, reason: 'invalid_org_id', fallback: true },
    ]);
    const text = await runtime.metrics.metrics();
    expect(text).toContain('orgplane_runtime_flag_errors_total{reason="invalid_org_id"} 4');
    expect(text).toContain('orgplane_runtime_flag_fallbacks_total 5');
  });

  it('a flag-error listener that throws does not make isEnabled throw', async () => {
    const { runtime } = start();
    await runtime.ready(10_000);
    runtime.on('flag-error', () => {
      throw new Error('listener bug');
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(runtime.isEnabled('new-checkout', { orgId: -1 }, true)).toBe(true);
      await until('the warning', () => warnings.find((m) => m.includes("'flag-error' listener threw")));
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a flag-error listener that throws what String() cannot print does not make isEnabled throw', async () => {
    const { runtime } = start();
    await runtime.ready(10_000);
    runtime.on('flag-error', () => {
      throw Object.create(null); // no toString, no valueOf: String() of it throws
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(runtime.isEnabled('new-checkout', { orgId: -1 }, true)).toBe(true);
      await until('the warning', () => warnings.find((m) => m.includes('a value that cannot be printed')));
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('refuses an invalid rollout change by name and keeps deciding with the last good flags', async () => {
    const { runtime, errors } = start();
    await runtime.ready(10_000);
    fx.server.commit({ action: 'rollout.advance', rollouts: [{ ...CHECKOUT, percent: 150 }] });
    await until('an INVALID_CONFIG error', () => errors.find((e) => e.code === 'INVALID_CONFIG'));
    expect(runtime.version).toBe(3);
    expect(runtime.isEnabled('new-checkout', { orgId: 1004 })).toBe(false);
    expect(runtime.isEnabled('new-checkout', { orgId: 1112 })).toBe(true);
    // The server fixes its config; the runtime resyncs from a snapshot.
    fx.server.rollouts = [{ ...CHECKOUT, percent: 11 }];
    await reach(runtime, 4);
    expect(runtime.isEnabled('new-checkout', { orgId: 1004 })).toBe(true);
  });

  it('the disk cache keeps the rollouts and cohorts of the latest version', async () => {
    const first = start({ cacheDir: fx.dir }).runtime;
    await first.ready(10_000);
    fx.server.commit({
      action: 'rollout.advance',
      rollouts: [
        { ...CHECKOUT, percent: 11 },
        { ...CHECKOUT, flag: 'other', percent: 0 },
      ],
    });
    fx.server.commit({ action: 'cohort.update', cohorts: { upsert: [{ name: 'pilot', orgIds: [7, 5] }], remove: [] } });
    await reach(first, 5);
    await first.close();
    const cached = await new DiskCache({ dir: fx.dir, onError: () => {} }).load();
    expect(cached?.rollouts).toEqual(fx.server.rollouts);
    expect(cached?.cohorts).toEqual([{ name: 'pilot', orgIds: [5, 7] }]);

    await fx.server.stop();
    const { runtime } = start({ cacheDir: fx.dir });
    await runtime.ready(10_000);
    expect(runtime.source).toBe('disk');
    expect(runtime.isEnabled('new-checkout', { orgId: 1004 })).toBe(true);
    expect(runtime.isEnabled('new-checkout', { orgId: 7 })).toBe(true);
    expect(runtime.isEnabled('new-checkout', { orgId: 6 })).toBe(false);
    expect(runtime.isEnabled('other', { orgId: 7 })).toBe(true);
  });
});
