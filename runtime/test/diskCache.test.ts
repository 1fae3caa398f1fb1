import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CACHE_FILE_NAME, type CacheImage, DiskCache } from '../src/diskCache.js';
import type { RuntimeError } from '../src/errors.js';
import { Router } from '../src/router.js';
import { CLUSTERS, RANGES } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orgplane-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function imageOf(router: Router, version: number): CacheImage {
  return {
    snapshot: {
      version,
      generatedAt: '2026-11-23T00:00:00.000Z',
      clusters: [...router.clusters()],
      ranges: [...router.ranges()],
      replicas: [],
      rollouts: [],
      cohorts: [],
    },
    pins: router.exportPins(),
  };
}

describe('DiskCache', () => {
  it('round-trips the whole config, including 20,000 pins written in chunks', async () => {
    const router = new Router();
    router.setClusters(CLUSTERS);
    router.setRanges(RANGES);
    for (let orgId = 0; orgId < 20_000; orgId++)
      router.pin(orgId * 3, orgId % 2 ? 'primary-2' : 'primary-"3"', orgId % 3 ? 'active' : 'moved', orgId);
    const errors: RuntimeError[] = [];
    const cache = new DiskCache({ dir: join(dir, 'nested'), onError: (e) => errors.push(e) });
    cache.schedule(() => imageOf(router, 12));
    await cache.flush();
    const loaded = await cache.load();
    expect(errors).toEqual([]);
    expect(loaded?.version).toBe(12);
    const restored = new Router();
    restored.applySnapshot(loaded!);
    expect(restored.pinCount).toBe(20_000);
    expect(restored.placement(3 * 4)).toEqual({ orgId: 12, clusterId: 'primary-"3"', state: 'active', epoch: 4 });
    expect(restored.placement(3 * 3)).toEqual({ orgId: 9, clusterId: 'primary-2', state: 'moved', epoch: 3 });
    expect(restored.route(1_000_000)).toBe('primary-2');
    expect(restored.clusters()).toEqual(CLUSTERS);
    expect(await readdir(join(dir, 'nested'))).toEqual([CACHE_FILE_NAME]); // no temporary file left behind
  });

  it('debounces: many changes before the timer fires make one write of the latest config', async () => {
    const router = new Router();
    router.setRanges(RANGES);
    const cache = new DiskCache({ dir, debounceMs: 60_000, onError: () => {} });
    const captured: number[] = [];
    for (let version = 1; version <= 5; version++) {
      cache.schedule(() => {
        captured.push(version);
        return imageOf(router, version);
      });
    }
    expect(await readdir(dir)).toEqual([]);
    await cache.flush();
    expect(captured).toEqual([5]);
    expect((await cache.load())?.version).toBe(5);
  });

  it('returns null without a file and CACHE_CORRUPT for garbage or a non-snapshot', async () => {
    const cache = new DiskCache({ dir, onError: () => {} });
    expect(await cache.load()).toBeNull();
    await writeFile(join(dir, CACHE_FILE_NAME), '{"version": 3, "clus');
    await expect(cache.load()).rejects.toMatchObject({ code: 'CACHE_CORRUPT' });
    await writeFile(join(dir, CACHE_FILE_NAME), '{"version": 3}');
    await expect(cache.load()).rejects.toMatchObject({ code: 'CACHE_CORRUPT' });
  });

  it('reports CACHE_WRITE_FAILED when the directory cannot be created', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const errors: RuntimeError[] = [];
    const cache = new DiskCache({ dir: join(dir, 'file', 'sub'), onError: (e) => errors.push(e) });
    const router = new Router();
    cache.schedule(() => imageOf(router, 1));
    await cache.flush();
    expect(errors.map((e) => e.code)).toEqual(['CACHE_WRITE_FAILED']);
    expect(await readFile(join(dir, 'file'), 'utf8')).toBe('x');
  });
});
