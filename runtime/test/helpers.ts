import type { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { RuntimeError } from '../src/errors.js';
import { linearRoute } from '../src/router.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/runtime.js';
import { ORG_ID_MAX, type WireCluster, type WireRange } from '../src/wire.js';
import { FakeControlPlane, type FakeControlPlaneState, TOKEN } from './fakeControlPlane.js';

export const EVENT_TIMEOUT_MS = 10_000;

/** Deterministic PRNG (mulberry32), so that a failure reproduces. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function cluster(id: string, host = `${id}.db.invalid`): WireCluster {
  return { id, state: 'active', primary: { url: `postgres://${host}:5432/app` }, replicas: [] };
}

export const CLUSTERS = [cluster('primary-1'), cluster('primary-2'), cluster('primary-3')];

export const RANGES: WireRange[] = [
  { lo: 0, hi: 999_999, clusterId: 'primary-1' },
  { lo: 1_000_000, hi: 1_999_999, clusterId: 'primary-2' },
  { lo: 2_000_000, hi: ORG_ID_MAX, clusterId: 'primary-3' },
];

/** Resolves with the event's arguments; rejects after `timeoutMs` (generous: no timing is asserted). */
export function once<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, timeoutMs = EVENT_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    function listener(...args: unknown[]) {
      clearTimeout(timer);
      resolve(args as T);
    }
    emitter.once(event, listener);
  });
}

/** Polls until `check` returns something truthy; rejects after `timeoutMs` naming `what`. */
export async function until<T>(what: string, check: () => T, timeoutMs = EVENT_TIMEOUT_MS): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Wait until the runtime has applied `version`. */
export async function reach(runtime: Runtime, version: number): Promise<void> {
  await until(`runtime at version ${version} (is at ${runtime.version})`, () => runtime.version === version);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Org ids worth comparing: every pin the server knows or knew, and the range edges. */
export function interestingIds(server: FakeControlPlane, extra: number[] = []): number[] {
  const ids = new Set<number>(extra);
  for (const p of server.placements.values()) ids.add(p.orgId);
  for (const delta of server.history.values()) {
    for (const p of delta.placements?.upsert ?? []) ids.add(p.orgId);
    for (const orgId of delta.placements?.remove ?? []) ids.add(orgId);
  }
  for (const r of server.ranges) {
    ids.add(r.lo);
    ids.add(r.hi);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Asserts that the runtime routes (and pins) exactly like the server's current map. */
export function expectSameMap(runtime: Runtime, server: FakeControlPlane, extra: number[] = []): void {
  if (runtime.version !== server.version) throw new Error(`runtime at version ${runtime.version}, server at ${server.version}`);
  for (const orgId of interestingIds(server, extra)) {
    const expected = linearRoute(server.ranges, server.placements, orgId);
    const actual = runtime.route(orgId);
    if (actual !== expected) throw new Error(`org ${orgId}: runtime routes to ${actual}, server map says ${expected}`);
    const pin = server.placements.get(orgId);
    const got = runtime.placement(orgId);
    const same =
      got === undefined || pin === undefined ? got === pin : (Object.keys(pin) as (keyof typeof pin)[]).every((k) => got[k] === pin[k]);
    if (!same) {
      throw new Error(`org ${orgId}: runtime placement ${JSON.stringify(got)}, server ${JSON.stringify(pin)}`);
    }
  }
}

/**
 * A FakeControlPlane and a temp dir for each test, and the runtimes a test starts with
 * `start()` (fast retries, errors collected), all closed after it.
 */
export function runtimeFixture(dirPrefix: string, initial: () => FakeControlPlaneState, defaults: Partial<RuntimeOptions> = {}) {
  const runtimes: Runtime[] = [];
  const fx = {
    server: undefined as unknown as FakeControlPlane,
    dir: '',
    /** Closed after each test; push a runtime made without `start()` here. */
    runtimes,
    start(options: Partial<RuntimeOptions> = {}): { runtime: Runtime; errors: RuntimeError[] } {
      const runtime = createRuntime({ url: fx.server.url, token: TOKEN, backoffBaseMs: 5, backoffCapMs: 50, ...defaults, ...options });
      runtimes.push(runtime);
      const errors: RuntimeError[] = [];
      runtime.on('error', (e) => errors.push(e));
      return { runtime, errors };
    },
  };
  beforeEach(async () => {
    fx.server = new FakeControlPlane(initial());
    await fx.server.start();
    fx.dir = await mkdtemp(join(tmpdir(), dirPrefix));
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.close()));
    await fx.server.stop();
    await rm(fx.dir, { recursive: true, force: true });
  });
  return fx;
}
