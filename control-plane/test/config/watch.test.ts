// The config stream across instances: LISTEN/NOTIFY fan-out, resuming with since /
// Last-Event-ID, snapshots for clients too far behind, and recovery after the LISTEN
// connection or a whole instance goes away.
import type { ConfigDelta, WireError } from '@orgplane/runtime/wire';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/app.js';
import { type Fixture, ORG_ID_MAX, seedClusters, startFixture, startInstance, waitFor } from '../helpers.js';
import { SseClient } from '../sseClient.js';

let a: Fixture;
let b: ControlPlane;
let bUrl: string;
const open: SseClient[] = [];

beforeAll(async () => {
  a = await startFixture();
  await seedClusters(a.api, ['primary-1', 'primary-2']);
  b = await startInstance(a.databaseUrl);
  bUrl = await b.app.listen({ host: '127.0.0.1', port: 0 });
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

async function watch(baseUrl: string, options: { since?: number; lastEventId?: string; token?: string } = {}): Promise<SseClient> {
  const client = await SseClient.open(baseUrl, options.token ?? a.tokens['sdk:read'], options);
  open.push(client);
  return client;
}

async function currentVersion(): Promise<number> {
  const [row] = await a.sql('SELECT version::int AS version FROM config_version');
  return row.version;
}

/** A change through instance A; returns its version. */
async function placeOrg(orgId: number, clusterId = 'primary-2'): Promise<number> {
  const res = await a.api.put(`/v1/placements/${orgId}`, { clusterId });
  expect(res.status).toBe(200);
  return res.body.version;
}

describe('GET /v1/config/watch', () => {
  it('streams SSE with the headers proxies need', async () => {
    const client = await watch(bUrl, { since: await currentVersion() });
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(client.headers.get('x-accel-buffering')).toBe('no');
    expect(client.headers.get('cache-control')).toContain('no-cache');
  });

  it('requires a token with a config-reading scope', async () => {
    const res = await fetch(new URL('/v1/config/watch?since=0', bUrl));
    expect(res.status).toBe(401);
    const bad = await fetch(new URL('/v1/config/watch?since=x', bUrl), { headers: { authorization: `Bearer ${a.tokens['sdk:read']}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as WireError).error.code).toBe('INVALID_INPUT');
  });

  it('delivers a change made through instance A to a watcher on instance B', async () => {
    const since = await currentVersion();
    const client = await watch(bUrl, { since });
    const res = await a.api.post('/v1/shard-map/split', { at: 1000 });
    const event = await client.next();
    expect(event.event).toBe('change');
    expect(event.id).toBe(String(since + 1));
    expect(event.data).toEqual({
      version: since + 1,
      action: 'shard-map.split',
      ranges: [
        { lo: 0, hi: 999, clusterId: 'primary-1' },
        { lo: 1000, hi: ORG_ID_MAX, clusterId: 'primary-1' },
      ],
    } satisfies ConfigDelta);
    expect(res.body.version).toBe(since + 1);
  });

  it('sends a complete cluster list when clusters change, and incremental placements', async () => {
    const since = await currentVersion();
    const client = await watch(bUrl, { since });
    await a.api.post('/v1/clusters/primary-2/replicas', { id: 'replica-2a', url: 'postgres://ro:secretpw@r2/app' });
    await placeOrg(31);
    const [clusters, pin] = await client.take(2);
    expect(clusters!.data.clusters.map((c: { id: string }) => c.id)).toEqual(['primary-1', 'primary-2']);
    expect(clusters!.data.clusters[1].replicas).toEqual([{ id: 'replica-2a', url: 'postgres://ro@r2/app' }]);
    expect(clusters!.data.ranges).toBeUndefined();
    expect(pin!.data.placements).toEqual({ upsert: [{ orgId: 31, clusterId: 'primary-2', state: 'active', epoch: 1 }], remove: [] });
    expect(JSON.stringify(client.events)).not.toContain('secretpw');
  });

  it('fans one change out to every watcher on every instance', async () => {
    const since = await currentVersion();
    const aUrl = await a.cp.app.listen({ host: '127.0.0.1', port: 0 });
    const watchers = [await watch(bUrl, { since }), await watch(bUrl, { since }), await watch(aUrl, { since, token: a.tokens.rollout })];
    const version = await placeOrg(21);
    for (const client of watchers) expect(await client.next()).toMatchObject({ event: 'change', id: String(version) });
  });

  it('gives a reconnecting watcher exactly the changes it missed, in order', async () => {
    const v = await currentVersion();
    const first = await watch(bUrl, { since: v });
    const seen = await placeOrg(41);
    expect((await first.next()).id).toBe(String(seen));
    first.close();
    await waitFor('instance B to forget closed watchers', () => b.hub.watcherCount === 0);

    const missed = [await placeOrg(42), await placeOrg(43), await placeOrg(44)];
    const again = await watch(bUrl, { since: seen });
    const events = await again.take(3);
    expect(events.map((e) => [e.event, Number(e.id)])).toEqual(missed.map((version) => ['change', version]));
    expect(events.map((e) => e.data.placements.upsert[0].orgId)).toEqual([42, 43, 44]);
    expect(again.events.some((e) => e.event === 'snapshot')).toBe(false);
  });

  it('prefers Last-Event-ID over since', async () => {
    const v = await currentVersion();
    await placeOrg(51);
    const latest = await placeOrg(52);
    const client = await watch(bUrl, { since: 1, lastEventId: String(v + 1) });
    expect(await client.next()).toMatchObject({ event: 'change', id: String(latest) });
  });

  it('starts a watcher without a version with a snapshot, then streams changes after it', async () => {
    const client = await watch(bUrl);
    const snapshot = await client.next();
    expect(snapshot.event).toBe('snapshot');
    expect(snapshot.id).toBeUndefined();
    expect(snapshot.data.version).toBe(await currentVersion());
    expect(snapshot.data.ranges).toEqual((await a.api.get('/v1/shard-map')).body.ranges);
    const version = await placeOrg(61);
    expect(await client.next()).toMatchObject({ event: 'change', id: String(version) });
    expect(version).toBe(snapshot.data.version + 1);
  });

  it('answers a watcher ahead of the database with a snapshot', async () => {
    const client = await watch(bUrl, { since: 1_000_000 });
    const event = await client.next();
    expect(event.event).toBe('snapshot');
    expect(event.data.version).toBe(await currentVersion());
  });

  it('sends heartbeats with the version on an otherwise quiet stream', async () => {
    const quick = await startInstance(a.databaseUrl, {}, { ORGPLANE_HEARTBEAT_MS: '20' });
    try {
      const url = await quick.app.listen({ host: '127.0.0.1', port: 0 });
      const version = await currentVersion();
      const client = await watch(url, { since: version });
      const beat = await client.next((e) => e.event === 'heartbeat');
      expect(beat.id).toBeUndefined();
      expect(beat.data).toEqual({ version, time: expect.any(String) });
      expect(client.events.every((e) => e.event === 'heartbeat')).toBe(true);
    } finally {
      await quick.close();
    }
  });

  it('sends a snapshot to a watcher older than the deltas an instance keeps', async () => {
    const small = await startInstance(a.databaseUrl, { maxBufferedDeltas: 3 });
    try {
      const url = await small.app.listen({ host: '127.0.0.1', port: 0 });
      for (const orgId of [81, 82, 83, 84]) await placeOrg(orgId);
      const current = await currentVersion();
      await waitFor('the small instance to catch up', () => small.hub.version === current);

      const resumable = await watch(url, { since: current - 3 });
      expect((await resumable.take(3)).map((e) => [e.event, Number(e.id)])).toEqual([
        ['change', current - 2],
        ['change', current - 1],
        ['change', current],
      ]);
      const tooOld = await watch(url, { since: current - 4 });
      const event = await tooOld.next();
      expect(event.event).toBe('snapshot');
      expect(event.data.version).toBe(current);
      expect(event.data.placements.map((p: { orgId: number }) => p.orgId)).toEqual(expect.arrayContaining([81, 82, 83, 84]));
    } finally {
      await small.close();
    }
  });

  it('sends a snapshot to a watcher more than 1000 versions behind, and deltas to one exactly 1000 behind', async () => {
    const actor = { name: 'bulk', tokenId: null, scope: 'admin' as const };
    for (let orgId = 100_000; orgId < 101_001; orgId++) await a.cp.services.placements.set(actor, orgId, { clusterId: 'primary-1' });
    const current = await currentVersion();
    await waitFor('instance B to catch up', () => b.hub.version === current, 30_000);

    const behind = await watch(bUrl, { since: current - 1001 });
    const snapshot = await behind.next();
    expect(snapshot.event).toBe('snapshot');
    expect(snapshot.data.version).toBe(current);

    const atLimit = await watch(bUrl, { since: current - 1000 });
    const events = await atLimit.take(1000);
    expect(events[0]).toMatchObject({ event: 'change', id: String(current - 999) });
    expect(events.at(-1)).toMatchObject({ event: 'change', id: String(current) });
    expect(events.every((e, i) => e.event === 'change' && Number(e.id) === current - 999 + i)).toBe(true);
  }, 120_000);

  it('recovers from a lost LISTEN connection and delivers what happened meanwhile', async () => {
    const since = await currentVersion();
    const client = await watch(bUrl, { since });
    const killed = await a.sql(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'orgplane-config-hub'`,
    );
    expect(killed.length).toBeGreaterThanOrEqual(2); // A's and B's
    const versions = [await placeOrg(91), await placeOrg(92)];
    const events = await client.take(2);
    expect(events.map((e) => Number(e.id))).toEqual(versions);
    await waitFor('both hubs to LISTEN again', () => a.cp.hub.connected && b.hub.connected);
    expect((await a.api.get('/readyz')).status).toBe(200);
  });

  it('lets a watcher resume on a restarted instance without missing a version', async () => {
    const first = await startInstance(a.databaseUrl);
    const firstUrl = await first.app.listen({ host: '127.0.0.1', port: 0 });
    const client = await watch(firstUrl, { since: await currentVersion() });
    const seen = await placeOrg(95);
    expect((await client.next()).id).toBe(String(seen));

    await first.close(); // with the stream still open: close must end it
    await client.ended;
    const missed = [await placeOrg(96), await placeOrg(97), await placeOrg(98)];

    const second = await startInstance(a.databaseUrl);
    try {
      const secondUrl = await second.app.listen({ host: '127.0.0.1', port: 0 });
      const resumed = await watch(secondUrl, { lastEventId: String(seen) });
      const events = await resumed.take(3);
      expect(events.map((e) => [e.event, Number(e.id)])).toEqual(missed.map((version) => ['change', version]));
      const after = await placeOrg(99);
      expect(await resumed.next()).toMatchObject({ event: 'change', id: String(after) });
    } finally {
      await second.close();
    }
  });
});
