// The compact snapshot: round trips, refusal of anything truncated or corrupt (on the
// wire and on disk) with the last good config kept, the disk cache in the compact form,
// deltas first from a disk snapshot, and Retry-After with jitter after a 503.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CorruptSnapshotError, decodeCompact, encodeCompact, isCompact, pinsFromPlacements, placementsOf } from '../src/compactSnapshot.js';
import { ConfigClient } from '../src/configClient.js';
import { CACHE_FILE_NAME, DiskCache } from '../src/diskCache.js';
import type { ConfigSnapshot, WirePlacement } from '../src/wire.js';
import { ORG_ID_MAX } from '../src/wire.js';
import { TOKEN } from './fakeControlPlane.js';
import { CLUSTERS, expectSameMap, prng, RANGES, reach, runtimeFixture, until } from './helpers.js';

const STATES = ['active', 'fenced', 'moved'] as const;

function randomPins(count: number, seed: number): WirePlacement[] {
  const random = prng(seed);
  const ids = new Set<number>([0, ORG_ID_MAX, 2 ** 32, 2 ** 32 - 1]);
  while (ids.size < count) ids.add(Math.floor(random() * 2 ** 40));
  return [...ids].map((orgId, i) => ({
    orgId,
    clusterId: CLUSTERS[i % CLUSTERS.length]!.id,
    state: STATES[i % 3]!,
    epoch: i % 7 === 0 ? 2 ** 40 + i : i % 5,
  }));
}

function snapshotWith(placements: WirePlacement[], version = 10): ConfigSnapshot {
  return {
    version,
    generatedAt: '2026-12-04T00:00:00.000Z',
    clusters: CLUSTERS,
    ranges: RANGES,
    placements,
    replicas: [],
    rollouts: [],
    cohorts: [],
  };
}

function encode(snapshot: ConfigSnapshot): Uint8Array {
  return encodeCompact(snapshot, pinsFromPlacements(snapshot.placements));
}

/** Rewrites the CRC so that only the structural checks can catch what was changed. */
function withCrc(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const end = out.length - 4;
  new DataView(out.buffer).setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

describe('compact snapshot encoding', () => {
  it('round-trips pins in any order, ids up to 2^53-1, large epochs, at a fraction of the JSON', () => {
    const pins = randomPins(5000, 1);
    const snapshot = snapshotWith([...pins].reverse());
    const bytes = encode(snapshot);
    expect(isCompact(bytes)).toBe(true);
    const decoded = decodeCompact(bytes);
    const { placements: _p, ...rest } = snapshot;
    expect(decoded.snapshot).toEqual({ ...rest, placements: [] });
    expect(placementsOf(decoded.pins)).toEqual([...pins].sort((a, b) => a.orgId - b.orgId));
    expect(bytes.length * 3).toBeLessThan(JSON.stringify(snapshot).length);
  });

  it('round-trips an empty pin list', () => {
    const decoded = decodeCompact(encode(snapshotWith([])));
    expect(decoded.pins.count).toBe(0);
    expect(decoded.snapshot.version).toBe(10);
  });

  it('refuses to encode repeated org ids or fractional epochs', () => {
    const dup = snapshotWith([
      { orgId: 1, clusterId: 'primary-1', state: 'active', epoch: 1 },
      { orgId: 1, clusterId: 'primary-2', state: 'active', epoch: 1 },
    ]);
    expect(() => encode(dup)).toThrow(RangeError);
    expect(() => encode(snapshotWith([{ orgId: 1, clusterId: 'primary-1', state: 'active', epoch: 1.5 }]))).toThrow(RangeError);
  });

  it('refuses every truncation, any flipped byte, and padding with CorruptSnapshotError', () => {
    const bytes = encode(snapshotWith(randomPins(300, 2)));
    for (let length = 0; length < bytes.length; length += 7) {
      expect(() => decodeCompact(bytes.subarray(0, length)), `truncated to ${length}`).toThrow(CorruptSnapshotError);
    }
    for (let at = 0; at < bytes.length; at += 5) {
      const flipped = Uint8Array.from(bytes);
      flipped[at]! ^= 0x10;
      expect(() => decodeCompact(flipped), `byte ${at} flipped`).toThrow(CorruptSnapshotError);
    }
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes);
    expect(() => decodeCompact(padded)).toThrow(CorruptSnapshotError);
    expect(() => decodeCompact(new TextEncoder().encode('{"version":1}'))).toThrow(/compact magic/);
  });

  it('refuses structural damage behind a valid CRC: repeated ids, unknown clusters and states, trailing bytes, a bad header', () => {
    const two = snapshotWith([
      { orgId: 5, clusterId: 'primary-1', state: 'active', epoch: 1 },
      { orgId: 6, clusterId: 'primary-2', state: 'active', epoch: 1 },
    ]);
    const bytes = encode(two);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const headerEnd = 12 + view.getUint32(8, true);
    // Columns: ids [5, 1], clusters [0, 1], states [0, 0], epochs [1, 1].
    const cases: [string, (b: Uint8Array) => void, RegExp][] = [
      ['a gap of 0 repeats an id', (b) => (b[headerEnd + 1] = 0), /repeated org id/],
      ['cluster index 9', (b) => (b[headerEnd + 3] = 9), /cluster index 9/],
      ['state 7', (b) => (b[headerEnd + 4] = 7), /state 7/],
      ['header not JSON', (b) => (b[12] = 0x7e), /header is not JSON/],
    ];
    for (const [what, damage, message] of cases) {
      const damaged = Uint8Array.from(bytes);
      damage(damaged);
      expect(() => decodeCompact(withCrc(damaged)), what).toThrow(message);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes.subarray(0, bytes.length - 4));
    longer[bytes.length - 4] = 0;
    new DataView(longer.buffer).setUint32(4, longer.length, true);
    expect(() => decodeCompact(withCrc(longer))).toThrow(/follow the last column/);
  });
});

const fx = runtimeFixture('orgplane-compact-', () => ({
  version: 10,
  clusters: CLUSTERS,
  ranges: RANGES,
  placements: randomPins(2000, 3),
}));

describe('runtime and the compact snapshot', () => {
  it('installs a compact snapshot from the watch stream and routes like the server', async () => {
    fx.server.compactSnapshots = true;
    const { runtime } = fx.start();
    await runtime.ready(10_000);
    expect(fx.server.snapshotsSent).toEqual(['compact']);
    expectSameMap(runtime, fx.server);
  });

  it('still takes a JSON snapshot from a control plane that does not speak compact', async () => {
    const { runtime } = fx.start();
    await runtime.ready(10_000);
    expect(fx.server.snapshotsSent).toEqual(['json']);
    expectSameMap(runtime, fx.server);
  });

  it('refuses a corrupt compact snapshot on the wire with SNAPSHOT_CORRUPT and keeps its last good config', async () => {
    fx.server.compactSnapshots = true;
    const { runtime, errors } = fx.start();
    await runtime.ready(10_000);
    const before = runtime.route(fx.server.placements.values().next().value!.orgId);
    // A corrupt snapshot event on the open stream: refused, nothing changes, it reconnects.
    const good = fx.server.compactSnapshot();
    fx.server.broadcastRaw('compact-snapshot', gzipSync(good.subarray(0, good.length - 9)).toString('base64'));
    await until('SNAPSHOT_CORRUPT', () => errors.find((e) => e.code === 'SNAPSHOT_CORRUPT'));
    expect(errors.find((e) => e.code === 'SNAPSHOT_CORRUPT')).toBeInstanceOf(CorruptSnapshotError);
    expect(runtime.version).toBe(10);
    expect(runtime.route(fx.server.placements.values().next().value!.orgId)).toBe(before);
    await until('back on the stream', () => fx.server.watchRequests.length >= 2 && fx.server.openStreams === 1);
    fx.server.broadcastRaw('compact-snapshot', 'not base64 at all!');
    await until('a second refusal', () => errors.filter((e) => e.code === 'SNAPSHOT_CORRUPT').length >= 2);
    expectSameMap(runtime, fx.server);
  });

  it('a corrupt first snapshot leaves it not ready, and the next good one makes it ready', async () => {
    fx.server.compactSnapshots = true;
    fx.server.mangleCompact = (bytes) => {
      const out = Uint8Array.from(bytes);
      out[out.length >> 1]! ^= 1;
      return out;
    };
    const { runtime, errors } = fx.start();
    await runtime.ready(10_000);
    expect(errors.map((e) => e.code)).toContain('SNAPSHOT_CORRUPT');
    expect(fx.server.snapshotsSent).toEqual(['compact', 'compact']);
    expectSameMap(runtime, fx.server);
  });

  it('writes its disk cache compact, starts from it, and asks for the changes since its version first', async () => {
    const first = fx.start({ cacheDir: fx.dir, cacheDebounceMs: 1 }).runtime;
    await first.ready(10_000);
    await first.close();
    const bytes = await readFile(join(fx.dir, CACHE_FILE_NAME));
    expect(isCompact(bytes)).toBe(true);
    const onDisk = await new DiskCache({ dir: fx.dir, onError: () => {} }).load();
    expect(onDisk?.placements).toHaveLength(2000);

    fx.server.commit({ action: 'placement.remove', placements: { upsert: [], remove: [0] } });
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 7, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] },
    });
    const requestsBefore = fx.server.watchRequests.length;
    const { runtime } = fx.start({ cacheDir: fx.dir });
    await reach(runtime, 12);
    expect(fx.server.watchRequests[requestsBefore]?.since).toBe('10');
    expect(fx.server.snapshotsSent).toEqual(['json']); // the first life's only
    expectSameMap(runtime, fx.server);
  });

  it('refuses a truncated or corrupt compact disk cache with CACHE_CORRUPT, then loads from the network', async () => {
    const good = fx.server.compactSnapshot();
    for (const bad of [good.subarray(0, good.length - 1), good.subarray(0, 20), Uint8Array.from(good, (b, i) => (i === 40 ? b ^ 4 : b))]) {
      await writeFile(join(fx.dir, CACHE_FILE_NAME), bad);
      const { runtime, errors } = fx.start({ cacheDir: fx.dir });
      await runtime.ready(10_000);
      const corrupt = errors.find((e) => e.code === 'CACHE_CORRUPT');
      expect(corrupt?.cause).toBeInstanceOf(CorruptSnapshotError);
      expect(runtime.source).toBe('network');
      expectSameMap(runtime, fx.server);
      await runtime.close();
    }
  });
});

describe('ConfigClient paced by Retry-After', () => {
  it('does not grow its backoff on top of a Retry-After: the server paces the fleet', async () => {
    fx.server.refuseWith = 503;
    fx.server.retryAfter = '1';
    const delays: number[] = [];
    const client = new ConfigClient(
      // A base this large would wait up to 4 s, 8 s, ... if 503s counted as failed attempts.
      { url: fx.server.url, token: TOKEN, backoffBaseMs: 2000, backoffCapMs: 60_000, random: () => 0.999 },
      {
        version: () => null,
        applySnapshot: () => {},
        applyDelta: () => {},
        current: () => {},
        connected: () => {},
        disconnected: () => {},
        reconnecting: (delayMs) => {
          delays.push(delayMs);
        },
        error: () => {},
      },
    );
    client.start();
    await until('three refusals', () => delays.length >= 3, 20_000);
    await client.stop();
    expect(delays.slice(0, 3).every((d) => d >= 1998 && d < 2000)).toBe(true);
  }, 30_000);
});

describe('ConfigClient.fetchConfig (the refresh after OPF02)', () => {
  const handlers = {
    version: () => null,
    applySnapshot: () => {},
    applyDelta: () => {},
    current: () => {},
    connected: () => {},
    disconnected: () => {},
    reconnecting: () => {},
    error: () => {},
  };

  it('asks for the compact form (gzip), and takes JSON from a control plane without it', async () => {
    const client = new ConfigClient({ url: fx.server.url, token: TOKEN }, handlers);
    const json = await client.fetchConfig(10_000);
    expect(json.pins).toBeUndefined();
    expect(json.snapshot.placements).toHaveLength(2000);
    fx.server.compactSnapshots = true;
    const compact = await client.fetchConfig(10_000);
    expect(fx.server.snapshotsSent).toEqual(['compact']);
    expect(compact.snapshot.version).toBe(10);
    expect(placementsOf(compact.pins!)).toEqual(json.snapshot.placements.sort((a, b) => a.orgId - b.orgId));
  });

  it('refuses a truncated compact body with CorruptSnapshotError', async () => {
    fx.server.compactSnapshots = true;
    fx.server.mangleCompact = (bytes) => bytes.subarray(0, bytes.length - 100);
    const client = new ConfigClient({ url: fx.server.url, token: TOKEN }, handlers);
    await expect(client.fetchConfig(10_000)).rejects.toBeInstanceOf(CorruptSnapshotError);
  });
});

describe('ConfigClient after a 503', () => {
  it('waits Retry-After plus up to as long again (jitter), not the bare backoff', async () => {
    fx.server.refuseWith = 503;
    fx.server.retryAfter = '2';
    const delays: number[] = [];
    for (const random of [0, 0.5, 0.999]) {
      const client = new ConfigClient(
        { url: fx.server.url, token: TOKEN, backoffBaseMs: 5, backoffCapMs: 60_000, random: () => random },
        {
          version: () => null,
          applySnapshot: () => {},
          applyDelta: () => {},
          current: () => {},
          connected: () => {},
          disconnected: () => {},
          reconnecting: (delayMs) => {
            delays.push(delayMs);
            void client.stop();
          },
          error: () => {},
        },
      );
      client.start();
      await until('a reconnect', () => delays.length === [0, 0.5, 0.999].indexOf(random) + 1);
      await client.stop();
    }
    expect(delays[0]).toBe(2000);
    expect(delays[1]).toBe(3000);
    expect(delays[2]).toBeGreaterThan(3990);
    expect(delays[2]).toBeLessThan(4000);
  });
});
