// The health checker runs on one instance at a time (the shared LeaderLock), publishes a
// state change as a config change (version, delta, audit row), and hands over when its
// instance stops. The replica here refuses connections: it goes unreachable after
// unreachableAfterProbes failed probes, not before.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ReplicaHealthWorker } from '../../src/features/replica-health/ReplicaHealthWorker.js';
import { createLogger } from '../../src/logger.js';
import { type Fixture, freshDatabase, type Json, LogCapture, seedClusters, startFixture, testConfig } from '../helpers.js';

let f: Fixture;
const workers: ReplicaHealthWorker[] = [];

beforeAll(async () => {
  f = await startFixture({ databaseUrl: await freshDatabase() });
  await seedClusters(f.api, ['primary-1']);
  // Port 1: nothing listens, the probe fails at once.
  const res = await f.api.post('/v1/clusters/primary-1/replicas', { id: 'replica-dead', url: 'postgres://app:pw@127.0.0.1:1/app' });
  expect(res.status, res.text).toBe(201);
});

afterAll(async () => {
  for (const w of workers) await w.stop();
  await f?.close();
});

function worker(): ReplicaHealthWorker {
  const config = testConfig(f.databaseUrl);
  const w = new ReplicaHealthWorker({
    databaseUrl: f.databaseUrl,
    store: f.cp.services.db.stores.replicaHealth,
    service: f.cp.services.replicaHealth,
    log: createLogger(config, new LogCapture()),
  });
  workers.push(w);
  return w;
}

it('one instance probes; the replica goes unreachable after 3 failed probes, as one config change', async () => {
  const a = worker();
  const b = worker();
  const version = (await f.api.get('/v1/config')).body.version;
  await a.tick();
  await b.tick();
  expect([a.isLeader, b.isLeader]).toEqual([true, false]);
  expect(b.lastProbes()).toEqual([]);
  let list: Json[] = (await f.api.get('/v1/replicas')).body.replicas;
  // One failure is not unreachable yet; the figures are written anyway (not a version).
  expect(list[0]).toMatchObject({ state: 'unknown', lagSeconds: null });
  expect(list[0].probeError).toMatch(/ECONNREFUSED/);
  expect(list[0].probeError).not.toContain('pw');
  expect((await f.api.get('/v1/config')).body.version).toBe(version);
  await a.tick();
  await a.tick();
  list = (await f.api.get('/v1/replicas')).body.replicas;
  expect(list[0].state).toBe('unreachable');
  const snapshot = (await f.api.get('/v1/config')).body;
  expect(snapshot.version).toBe(version + 1);
  expect(snapshot.replicas[0].state).toBe('unreachable');
  const [change] = await f.sql("SELECT delta FROM config_changes WHERE action = 'replica.health'");
  expect(change.delta.replicas.map((r: Json) => [r.id, r.state])).toEqual([['replica-dead', 'unreachable']]);
  const [audit] = await f.sql("SELECT actor, reason FROM audit_log WHERE action = 'replica.health'");
  expect(audit.actor).toBe('replica-health');
  expect(audit.reason).toMatch(/^replica-dead: unknown -> unreachable \(3 failed probes in a row/);
  expect(a.lastProbes()).toEqual([{ id: 'replica-dead', clusterId: 'primary-1', state: 'unreachable', lagSeconds: null, lagBytes: null }]);
  // Still unreachable: no new version for the same state.
  await a.tick();
  expect((await f.api.get('/v1/config')).body.version).toBe(version + 1);

  await a.stop();
  await b.tick();
  expect(b.isLeader).toBe(true);
  await b.tick();
  expect((await f.api.get('/v1/config')).body.version).toBe(version + 1);
});
