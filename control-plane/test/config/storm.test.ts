// A reconnect storm against a real control plane: hundreds of runtimes (fresh ones and
// ones starting from a disk snapshot a few versions old) connect at once while changes
// keep coming. Every runtime must catch up to the last version without missing one,
// the ones with a disk snapshot must catch up with deltas only, and the control plane
// must never send more snapshots at once than its limit. (bench:config-scale runs the
// same at 1 M pins and 2,000 runtimes.)
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type Runtime, type RuntimeError } from '@orgplane/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, ORG_ID_MAX, seedClusters, startFixture, waitFor } from '../helpers.js';

const PINS = 5000;
const FRESH = 300;
const FROM_DISK = 200;
const LIMIT = 8;
let f: Fixture;
let url: string;
let dir: string;
const runtimes: Runtime[] = [];

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_CONFIG_MAX_SNAPSHOT_SENDS: String(LIMIT), ORGPLANE_CONFIG_RETRY_AFTER_S: '1' } });
  await seedClusters(f.api, ['primary-1', 'primary-2']);
  await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }] });
  await f.sql(
    `INSERT INTO placements (org_id, cluster_id, state, epoch) SELECT 10 + g * 3, 'primary-1', 'active', 1 FROM generate_series(1, $1) g`,
    [PINS],
  );
  await f.api.put('/v1/placements/1', { clusterId: 'primary-1' });
  url = await f.cp.app.listen({ host: '127.0.0.1', port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'orgplane-storm-'));
}, 60_000);
afterAll(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
  await f?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function start(cacheDir?: string): { runtime: Runtime; errors: RuntimeError[]; sources: string[] } {
  const runtime = createRuntime({ url, token: f.tokens['sdk:read'], ...(cacheDir === undefined ? {} : { cacheDir }), cacheDebounceMs: 1 });
  runtimes.push(runtime);
  const errors: RuntimeError[] = [];
  const sources: string[] = [];
  runtime.on('error', (e) => errors.push(e));
  runtime.on('snapshot', (e) => sources.push(e.source));
  return { runtime, errors, sources };
}

describe('a reconnect storm', () => {
  it(`${FRESH} fresh runtimes and ${FROM_DISK} from a disk snapshot all catch up, none misses a change, snapshot sends stay bounded`, async () => {
    // A disk snapshot at the current version, copied for every runtime that starts from disk.
    const seed = start(join(dir, 'seed')).runtime;
    await seed.ready(30_000);
    const diskVersion = seed.version!;
    await seed.close();
    runtimes.splice(runtimes.indexOf(seed), 1);
    for (let i = 0; i < FROM_DISK; i++) {
      await mkdir(join(dir, `r${i}`));
      await copyFile(join(dir, 'seed', 'orgplane-config.json'), join(dir, `r${i}`, 'orgplane-config.json'));
    }
    // The disk snapshots fall a few versions behind.
    for (let org = 100_001; org <= 100_003; org++)
      expect((await f.api.put(`/v1/placements/${org}`, { clusterId: 'primary-1' })).status).toBe(200);

    const sends = f.cp.services.snapshotSends;
    let maxInFlight = 0;
    const probe = setInterval(() => {
      maxInFlight = Math.max(maxInFlight, sends.inFlight);
    }, 1);
    const fresh = Array.from({ length: FRESH }, () => start());
    const fromDisk = Array.from({ length: FROM_DISK }, (_, i) => start(join(dir, `r${i}`)));
    // Changes during the storm: each must reach every runtime.
    const changed: number[] = [];
    for (let org = 200_001; org <= 200_005; org++) {
      expect((await f.api.put(`/v1/placements/${org}`, { clusterId: 'primary-1', state: 'fenced' })).status).toBe(200);
      changed.push(org);
    }
    const { version: last } = await f.cp.services.snapshotCache.current();
    try {
      await waitFor(`every runtime at version ${last}`, () => [...fresh, ...fromDisk].every((r) => r.runtime.version === last), 90_000);
    } finally {
      clearInterval(probe);
    }
    expect(maxInFlight).toBeLessThanOrEqual(LIMIT);
    for (const { runtime } of [...fresh, ...fromDisk]) {
      for (const org of [...changed, 100_001, 100_002, 100_003, 13])
        expect(runtime.placement(org)?.clusterId, `org ${org}`).toBe('primary-1');
      expect(runtime.placement(200_003)?.state).toBe('fenced');
      expect(runtime.placement(11)).toBeUndefined();
    }
    // From disk: installed the file, then only deltas (never a network snapshot).
    for (const { sources, runtime } of fromDisk) {
      expect(sources).toEqual(['disk']);
      expect(runtime.source).toBe('network');
    }
    expect(diskVersion).toBeLessThan(last);
    // Refusals, when there were any, are the named 503.
    const refusals = fresh.flatMap((r) => r.errors).filter((e) => e.status !== undefined);
    expect(refusals.every((e) => e.code === 'HTTP_ERROR' && e.status === 503)).toBe(true);
    expect(sends.inFlight).toBe(0);
  }, 150_000);
});
