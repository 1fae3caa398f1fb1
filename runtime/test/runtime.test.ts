import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE_FILE_NAME, DiskCache } from '../src/diskCache.js';
import type { RuntimeError } from '../src/errors.js';
import { createRuntime } from '../src/runtime.js';
import type { ConfigDelta } from '../src/wire.js';
import { TOKEN } from './fakeControlPlane.js';
import { CLUSTERS, cluster, expectSameMap, once, RANGES, reach, runtimeFixture, sleep, until } from './helpers.js';

const fx = runtimeFixture('orgplane-runtime-', () => ({
  version: 10,
  clusters: CLUSTERS,
  ranges: RANGES,
  placements: [{ orgId: 42, clusterId: 'primary-3', state: 'active', epoch: 1 }],
}));
const start = fx.start;

describe('runtime following the config stream', () => {
  it('loads the snapshot, then applies every change in order', async () => {
    const { runtime } = start();
    const snapshots: unknown[] = [];
    runtime.on('snapshot', (e) => snapshots.push(e));
    await runtime.ready(10_000);
    expect(snapshots).toEqual([{ version: 10, source: 'network' }]);
    expect(runtime.source).toBe('network');
    expect(runtime.route(42)).toBe('primary-3');
    expect(runtime.route(41)).toBe('primary-1');

    const changes: unknown[] = [];
    runtime.on('change', (e) => changes.push(e));
    const deltas: Omit<ConfigDelta, 'version'>[] = [
      {
        action: 'shard-map.split',
        ranges: [{ lo: 0, hi: 499_999, clusterId: 'primary-1' }, { lo: 500_000, hi: 999_999, clusterId: 'primary-2' }, ...RANGES.slice(1)],
      },
      { action: 'placement.set', placements: { upsert: [{ orgId: 7, clusterId: 'primary-2', state: 'fenced', epoch: 1 }], remove: [] } },
      { action: 'placement.remove', placements: { upsert: [], remove: [42] } },
      { action: 'cluster.create', clusters: [...CLUSTERS, cluster('primary-4')] },
      {
        action: 'shard-map.assign',
        ranges: [{ lo: 0, hi: 499_999, clusterId: 'primary-1' }, { lo: 500_000, hi: 999_999, clusterId: 'primary-4' }, ...RANGES.slice(1)],
      },
    ];
    for (const delta of deltas) fx.server.commit(delta);
    await reach(runtime, 15);
    expect(changes).toEqual(deltas.map((d, i) => ({ version: 11 + i, action: d.action })));
    expect(runtime.route(499_999)).toBe('primary-1');
    expect(runtime.route(500_000)).toBe('primary-4');
    expect(runtime.route(42)).toBe('primary-1');
    expect(runtime.placement(7)).toEqual({ orgId: 7, clusterId: 'primary-2', state: 'fenced', epoch: 1 });
    expectSameMap(runtime, fx.server, [499_999, 500_000, 500_001]);
    expect(fx.server.watchRequests).toEqual([{ since: null, authorization: `Bearer ${TOKEN}` }]);
  });

  it('uses the fetch it is given, and emits change events as they apply', async () => {
    const urls: string[] = [];
    const { runtime } = start({
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    await runtime.ready(10_000);
    const change = once<[{ version: number; action: string }]>(runtime, 'change');
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 5, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] },
    });
    expect((await change)[0]).toEqual({ version: 11, action: 'placement.set' });
    expect(runtime.route(5)).toBe('primary-2');
    expect(urls).toEqual([`${fx.server.url}/v1/config/watch?format=compact`]);
  });

  it('after the server drops the stream, reconnects with since=N and misses no change', async () => {
    const { runtime } = start();
    await runtime.ready(10_000);
    const disconnected = once<[{ reason: string }]>(runtime, 'disconnected');
    fx.server.refuseWith = 503; // nobody gets back in until the changes below are made
    fx.server.closeStreams();
    expect((await disconnected)[0].reason).toBe('stream ended');
    await until('a refused reconnect', () => fx.server.watchRequests.length >= 2);
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 9, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] },
    });
    fx.server.commit({ action: 'placement.remove', placements: { upsert: [], remove: [42] } });
    fx.server.commit({
      action: 'shard-map.split',
      ranges: [{ lo: 0, hi: 9, clusterId: 'primary-3' }, { lo: 10, hi: 999_999, clusterId: 'primary-1' }, ...RANGES.slice(1)],
    });
    expect(runtime.version).toBe(10);
    fx.server.refuseWith = undefined;
    await reach(runtime, 13);
    expectSameMap(runtime, fx.server, [0, 8, 9, 10, 11]);
    expect(fx.server.watchRequests.at(-1)?.since).toBe('10');
    expect(fx.server.watchRequests.slice(1).every((r) => r.since === '10')).toBe(true);
  });

  it('a gap in versions makes it drop the stream and resync from the version it has', async () => {
    const { runtime, errors } = start();
    await runtime.ready(10_000);
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 1, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] },
    });
    await reach(runtime, 11);
    fx.server.commit(
      { action: 'placement.set', placements: { upsert: [{ orgId: 2, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] } },
      { silently: true },
    );
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 3, clusterId: 'primary-3', state: 'active', epoch: 1 }], remove: [] },
    });
    await reach(runtime, 13);
    expect(errors.map((e) => e.code)).toContain('VERSION_GAP');
    expect(fx.server.watchRequests.map((r) => r.since)).toEqual([null, '11']);
    expectSameMap(runtime, fx.server);
    expect(runtime.route(2)).toBe('primary-2');
  });

  it('a heartbeat announcing a version it never received makes it resync at the next beat', async () => {
    const { runtime, errors } = start();
    await runtime.ready(10_000);
    fx.server.commit({ action: 'placement.remove', placements: { upsert: [], remove: [42] } }, { silently: true });
    fx.server.heartbeat();
    await sleep(50);
    expect(runtime.version).toBe(10); // one beat ahead may be a race with the change itself
    fx.server.heartbeat();
    await reach(runtime, 11);
    expect(errors.map((e) => e.code)).toContain('VERSION_GAP');
    expect(fx.server.watchRequests.map((r) => r.since)).toEqual([null, '10']);
    expect(runtime.route(42)).toBe('primary-1');
  });

  it('reconnects when the stream goes silent past heartbeatTimeoutMs', async () => {
    const { runtime, errors } = start({ heartbeatTimeoutMs: 200 });
    await runtime.ready(10_000);
    await until('a reconnect after silence', () => fx.server.watchRequests.length >= 2);
    expect(errors.map((e) => e.code)).toContain('HEARTBEAT_TIMEOUT');
    expect(fx.server.watchRequests[1]?.since).toBe('10');
  });

  it('heartbeats at its version keep the stream and reset staleness', async () => {
    // 2.5 s of beats 250 ms apart against a 1.5 s timeout: only refreshed watchdogs survive it.
    const { runtime } = start({ heartbeatTimeoutMs: 1_500 });
    await runtime.ready(10_000);
    for (let beat = 0; beat < 10; beat++) {
      await sleep(250);
      fx.server.heartbeat();
    }
    await sleep(50);
    expect(fx.server.watchRequests.length).toBe(1);
    expect(runtime.stalenessSeconds()).toBeLessThan(1);
  });
});

describe('runtime failures', () => {
  it('401: AUTH_FAILED, ready() rejects, and it never asks again', async () => {
    const { runtime, errors } = start({ token: 'op_wrong_token', backoffBaseMs: 1 });
    await expect(runtime.ready(10_000)).rejects.toMatchObject({ code: 'AUTH_FAILED', status: 401 });
    await sleep(300);
    expect(fx.server.watchRequests.length).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(['AUTH_FAILED']);
    expect(await runtime.metrics.getSingleMetricAsString('orgplane_runtime_config_errors_total')).toContain(
      'orgplane_runtime_config_errors_total{code="AUTH_FAILED"} 1',
    );
  });

  it('403: AUTH_FAILED too, and no retry', async () => {
    fx.server.refuseWith = 403;
    const { runtime, errors } = start({ backoffBaseMs: 1 });
    const [error] = await once<[RuntimeError]>(runtime, 'error');
    expect(error).toMatchObject({ code: 'AUTH_FAILED', status: 403 });
    await sleep(300);
    expect(fx.server.watchRequests.length).toBe(1);
    expect(errors.length).toBe(1);
  });

  it('without an error listener, AUTH_FAILED is a process warning, not a crash', async () => {
    const runtime = createRuntime({ url: fx.server.url, token: 'op_wrong_token' });
    fx.runtimes.push(runtime);
    const [warning] = await once<[Error & { code?: string }]>(process, 'warning');
    expect(warning.code).toBe('ORGPLANE_AUTH_FAILED');
  });

  it('5xx and 429 back off and then recover', async () => {
    fx.server.refuseWith = 503;
    fx.server.refuseCount = 3;
    const { runtime, errors } = start();
    await runtime.ready(10_000);
    expect(errors.map((e) => [e.code, e.status])).toEqual([
      ['HTTP_ERROR', 503],
      ['HTTP_ERROR', 503],
      ['HTTP_ERROR', 503],
    ]);
    expect(await runtime.metrics.getSingleMetricAsString('orgplane_runtime_watch_reconnects_total')).toContain(
      'orgplane_runtime_watch_reconnects_total 3',
    );
    const disconnected = once(runtime, 'disconnected');
    fx.server.refuseWith = 429;
    fx.server.refuseCount = 2;
    fx.server.closeStreams();
    await disconnected;
    await until('back on the stream', () => fx.server.openStreams === 1);
    expect(errors.filter((e) => e.status === 429).length).toBe(2);
  });

  it('ready(timeoutMs) rejects with NOT_READY while nothing is loaded, and route() says NOT_READY', async () => {
    fx.server.refuseWith = 503;
    const { runtime } = start();
    await expect(runtime.ready(200)).rejects.toMatchObject({ code: 'NOT_READY' });
    expect(() => runtime.route(1)).toThrow(expect.objectContaining({ code: 'NOT_READY' }));
    expect(runtime.stalenessSeconds()).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses an invalid change, then resyncs from a snapshot', async () => {
    const { runtime, errors } = start();
    await runtime.ready(10_000);
    fx.server.broadcast('change', { version: 11, action: 'bad', ranges: [{ lo: 5, hi: 1, clusterId: 'x' }] }, 11);
    await until('INVALID_CONFIG', () => errors.some((e) => e.code === 'INVALID_CONFIG'));
    expect(runtime.route(1_000_000)).toBe('primary-2');
    await until('a reconnect', () => fx.server.watchRequests.length >= 2);
    expect(fx.server.watchRequests[1]?.since).toBeNull();
  });
});

describe('runtime disk cache', () => {
  it('server down at start: ready from the disk cache, routes, then catches up', async () => {
    // First life: learn the config from the network and leave it on disk.
    const first = start({ cacheDir: fx.dir }).runtime;
    await first.ready(10_000);
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 77, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] },
    });
    await reach(first, 11);
    await first.close();
    expect(existsSync(join(fx.dir, CACHE_FILE_NAME))).toBe(true);

    // The control plane goes away and the map moves on without us.
    const port = Number(new URL(fx.server.url).port);
    await fx.server.stop();
    fx.server.commit({
      action: 'placement.set',
      placements: { upsert: [{ orgId: 88, clusterId: 'primary-3', state: 'active', epoch: 1 }], remove: [] },
    });
    const requestsBefore = fx.server.watchRequests.length;

    const { runtime, errors } = start({ cacheDir: fx.dir });
    const snapshots: unknown[] = [];
    runtime.on('snapshot', (e) => snapshots.push(e));
    await runtime.ready(10_000);
    expect(runtime.source).toBe('disk');
    expect(runtime.version).toBe(11);
    expect(runtime.route(77)).toBe('primary-2');
    expect(runtime.route(42)).toBe('primary-3');
    expect(runtime.route(88)).toBe('primary-1');
    expect(runtime.stalenessSeconds()).toBe(Number.POSITIVE_INFINITY);
    await until('a refused connection', () => errors.some((e) => e.code === 'NETWORK_ERROR'));
    expect(await runtime.metrics.getSingleMetricAsString('orgplane_runtime_config_source')).toContain(
      'orgplane_runtime_config_source{source="disk"} 1',
    );

    await fx.server.start(port);
    await reach(runtime, 12);
    expect(runtime.source).toBe('network');
    expect(runtime.route(88)).toBe('primary-3');
    expect(runtime.stalenessSeconds()).toBeLessThan(60);
    expect(fx.server.watchRequests.slice(requestsBefore).map((r) => r.since)).toEqual(['11']);
    expect(snapshots).toEqual([{ version: 11, source: 'disk' }]);
    expectSameMap(runtime, fx.server);
  });

  it('a corrupt cache file: CACHE_CORRUPT, then ready from the network, and the file is rewritten', async () => {
    await writeFile(join(fx.dir, CACHE_FILE_NAME), '{"version": 9, "clusters": [tru');
    const { runtime, errors } = start({ cacheDir: fx.dir });
    await runtime.ready(10_000);
    expect(runtime.source).toBe('network');
    expect(errors.map((e) => e.code)).toEqual(['CACHE_CORRUPT']);
    await runtime.close();
    expect((await new DiskCache({ dir: fx.dir, onError: () => {} }).load())?.version).toBe(10);
  });

  it('a cache holding an invalid map is corrupt too', async () => {
    const bad = {
      ...fx.server.snapshot(),
      ranges: [
        { lo: 0, hi: 10, clusterId: 'a' },
        { lo: 5, hi: 20, clusterId: 'b' },
      ],
    };
    await writeFile(join(fx.dir, CACHE_FILE_NAME), JSON.stringify(bad));
    fx.server.refuseWith = 503;
    const { runtime, errors } = start({ cacheDir: fx.dir });
    await until('CACHE_CORRUPT', () => errors.some((e) => e.code === 'CACHE_CORRUPT'));
    expect(runtime.version).toBeNull();
    fx.server.refuseWith = undefined;
    await runtime.ready(10_000);
    expect(runtime.source).toBe('network');
  });
});

describe('runtime metrics', () => {
  it('exposes version, staleness and source on its registry', async () => {
    const { runtime } = start();
    await runtime.ready(10_000);
    const text = await runtime.metrics.metrics();
    expect(text).toContain('orgplane_runtime_config_version 10');
    expect(text).toContain('orgplane_runtime_config_source{source="network"} 1');
    expect(text).toContain('orgplane_runtime_config_source{source="disk"} 0');
    const staleness = Number(/^orgplane_runtime_config_staleness_seconds (\S+)$/m.exec(text)?.[1]);
    expect(staleness).toBeGreaterThanOrEqual(0);
    expect(staleness).toBeLessThan(60);
  });
});
