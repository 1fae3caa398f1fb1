import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, freshTenantDatabase, ORG_ID_MAX, startFixture } from '../helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

describe('org location before there is a map', () => {
  it('answers 404 RANGE_NOT_FOUND with a hint', async () => {
    const res = await f.api.get('/v1/orgs/5/location');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'RANGE_NOT_FOUND', hint: expect.stringContaining('PUT /v1/shard-map/ranges') });
  });
});

describe('placements', () => {
  beforeAll(async () => {
    // Real (empty) tenant databases: a pin that reroutes an org asks both clusters.
    for (const id of ['primary-1', 'primary-2']) await f.api.post('/v1/clusters', { id, primary: { url: await freshTenantDatabase() } });
    await f.api.put('/v1/shard-map/ranges', {
      ranges: [
        { lo: 0, hi: 999, clusterId: 'primary-1' },
        { lo: 1000, hi: ORG_ID_MAX, clusterId: 'primary-2' },
      ],
    });
  });

  it('locates an org by its range', async () => {
    const res = await f.api.as(f.tokens['sdk:read']).get('/v1/orgs/1000/location');
    expect(res.body).toEqual({
      orgId: 1000,
      clusterId: 'primary-2',
      source: 'range',
      range: { lo: 1000, hi: ORG_ID_MAX, clusterId: 'primary-2' },
      placement: null,
      version: 3,
    });
    expect((await f.api.get(`/v1/orgs/${ORG_ID_MAX}/location`)).body.clusterId).toBe('primary-2');
    expect((await f.api.get('/v1/orgs/0/location')).body.clusterId).toBe('primary-1');
  });

  it('pins an org (epoch 1), and the pin wins over the range', async () => {
    const res = await f.api.put('/v1/placements/1000', { clusterId: 'primary-1', reason: 'pilot move' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      version: 4,
      placement: { orgId: 1000, clusterId: 'primary-1', state: 'active', epoch: 1 },
      reroutes: [
        { from: 'primary-2', to: 'primary-1', ranges: [], orgIds: [1000], orgsWithRowsOnFrom: 0, sampleOrgIds: [], tombstoned: true },
      ],
    });
    const location = (await f.api.get('/v1/orgs/1000/location')).body;
    expect(location).toMatchObject({ clusterId: 'primary-1', source: 'placement', range: { clusterId: 'primary-2' }, version: 4 });
    expect(location.placement).toEqual(res.body.placement);
  });

  it('bumps the epoch on every change and audits before/after', async () => {
    const fenced = await f.api.put('/v1/placements/1000', { clusterId: 'primary-1', state: 'fenced' });
    expect(fenced.body.placement).toEqual({ orgId: 1000, clusterId: 'primary-1', state: 'fenced', epoch: 2 });
    const moved = await f.api.put('/v1/placements/1000', { clusterId: 'primary-2', state: 'active' });
    expect(moved.body.placement.epoch).toBe(3);
    const [entry] = (await f.api.get('/v1/audit?action=placement.set&limit=1')).body.entries;
    expect(entry.before).toEqual({ orgId: 1000, clusterId: 'primary-1', state: 'fenced', epoch: 2 });
    expect(entry.after).toMatchObject({ orgId: 1000, clusterId: 'primary-2', state: 'active', epoch: 3, dataOn: null, forced: false });
    expect(entry.after.reroutes).toEqual([expect.objectContaining({ from: 'primary-1', to: 'primary-2', orgIds: [1000] })]);
  });

  it('refuses unknown clusters, bad states and bad org ids, changing nothing', async () => {
    const [{ version }] = await f.sql('SELECT version::int FROM config_version');
    expect((await f.api.put('/v1/placements/7', { clusterId: 'primary-9' })).body.error.code).toBe('CLUSTER_NOT_FOUND');
    expect((await f.api.put('/v1/placements/7', { clusterId: 'primary-1', state: 'gone' })).body.error.code).toBe('INVALID_INPUT');
    expect((await f.api.put('/v1/placements/abc', { clusterId: 'primary-1' })).body.error.code).toBe('INVALID_ORG_ID');
    expect((await f.api.put('/v1/placements/9007199254740992', { clusterId: 'primary-1' })).body.error.code).toBe('INVALID_ORG_ID');
    expect(await f.sql('SELECT version::int FROM config_version')).toEqual([{ version }]);
  });

  it('lists placements by org id, filtered by cluster and paged with after', async () => {
    for (const orgId of [5, 3, 2000]) await f.api.put(`/v1/placements/${orgId}`, { clusterId: orgId === 2000 ? 'primary-1' : 'primary-2' });
    const all = (await f.api.get('/v1/placements')).body;
    expect(all.placements.map((p: { orgId: number }) => p.orgId)).toEqual([3, 5, 1000, 2000]);
    expect(all.version).toBe(9);
    expect((await f.api.get('/v1/placements?after=3&limit=2')).body.placements.map((p: { orgId: number }) => p.orgId)).toEqual([5, 1000]);
    expect((await f.api.get('/v1/placements?clusterId=primary-1')).body.placements.map((p: { orgId: number }) => p.orgId)).toEqual([2000]);
    expect((await f.api.get('/v1/placements?clusterId=primary-9')).body.error.code).toBe('CLUSTER_NOT_FOUND');
    expect((await f.api.get('/v1/placements?after=-1')).body.error.code).toBe('INVALID_ORG_ID');
    expect((await f.api.get('/v1/shard-map')).body.placementCount).toBe(4);
  });

  it('removes a pin (the org falls back to its range) and answers PLACEMENT_NOT_FOUND the second time', async () => {
    // 2000 is pinned to primary-1, its range is on primary-2: its rows must come back first.
    expect((await f.api.delete('/v1/placements/2000')).body.error.code).toBe('PLACEMENT_OFF_RANGE');
    expect((await f.api.put('/v1/placements/2000', { clusterId: 'primary-2', reason: 'moved back' })).body.version).toBe(10);
    const removed = await f.api.delete('/v1/placements/2000', { reason: 'moved back' });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ version: 11 });
    expect((await f.api.get('/v1/orgs/2000/location')).body).toMatchObject({ source: 'range', clusterId: 'primary-2', placement: null });
    const again = await f.api.delete('/v1/placements/2000');
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('PLACEMENT_NOT_FOUND');
    const [entry] = (await f.api.get('/v1/audit?action=placement.remove')).body.entries;
    expect(entry).toMatchObject({ reason: 'moved back', after: null, before: { orgId: 2000, clusterId: 'primary-2' }, version: 11 });
  });

  it('records placement deltas incrementally', async () => {
    const [{ delta }] = await f.sql('SELECT delta FROM config_changes WHERE version = 11');
    expect(delta).toEqual({ version: 11, action: 'placement.remove', placements: { upsert: [], remove: [2000] } });
    const [{ delta: set }] = await f.sql('SELECT delta FROM config_changes WHERE version = 4');
    expect(set).toEqual({
      version: 4,
      action: 'placement.set',
      placements: { upsert: [{ orgId: 1000, clusterId: 'primary-1', state: 'active', epoch: 1 }], remove: [] },
    });
  });
});
