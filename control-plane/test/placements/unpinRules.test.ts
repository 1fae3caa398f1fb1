// When a pin may go: DELETE /v1/placements/:orgId routes the org by its range again, so it
// is refused while a move owns the pin and when the range's cluster does not hold the
// org's rows. Each refusal is named and changes nothing (placement, version, audit).
// Real tenant databases (a move checks its org exists); the executor is off, so a move
// stays in the state the API left it in.

import { createTestDatabase } from '@orgplane/embedded';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Fixture, type Json, ORG_ID_MAX, seedOrgs, startFixture } from '../helpers.js';

let f: Fixture;

/** Everything a refused pin change must leave as it was. */
async function snapshot(): Promise<Json> {
  return {
    version: await f.sql('SELECT version::int FROM config_version'),
    audit: await f.sql('SELECT count(*)::int AS n FROM audit_log'),
    placements: await f.sql('SELECT org_id::int, cluster_id, state, epoch::int FROM placements ORDER BY org_id'),
  };
}

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_MOVE_EXECUTOR: 'off' } });
  for (const id of ['tenant-a', 'tenant-b']) {
    const url = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    expect((await f.api.post('/v1/clusters', { id, primary: { url } })).status).toBe(201);
    await seedOrgs(url, id === 'tenant-a' ? [1, 2, 3] : [1001]);
  }
  const ranges = await f.api.put('/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999, clusterId: 'tenant-a' },
      { lo: 1000, hi: ORG_ID_MAX, clusterId: 'tenant-b' },
    ],
  });
  expect(ranges.status).toBe(200);
});
afterAll(async () => {
  await f?.close();
});

describe('DELETE /v1/placements/:orgId', () => {
  it('answers 404 PLACEMENT_NOT_FOUND for an org without a pin, changing nothing', async () => {
    const before = await snapshot();
    const res = await f.api.delete('/v1/placements/2');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'PLACEMENT_NOT_FOUND', details: { orgId: 2 } });
    expect(await snapshot()).toEqual(before);
  });

  it('answers 409 PLACEMENT_OFF_RANGE when the pin is not on its range cluster; the hint says to move the org back first', async () => {
    // Org 3's rows live on tenant-b (say, restored there: dataOn, as tenant-a holds them too): its range still says tenant-a.
    expect((await f.api.put('/v1/placements/3', { clusterId: 'tenant-b', dataOn: 'tenant-b', reason: 'restored' })).status).toBe(200);
    const before = await snapshot();
    const res = await f.api.delete('/v1/placements/3?reason=cleanup');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'PLACEMENT_OFF_RANGE',
      hint: expect.stringMatching(/move the org back first.*"to": "tenant-a"/),
      details: { orgId: 3, clusterId: 'tenant-b', rangeClusterId: 'tenant-a', range: { lo: 0, hi: 999, clusterId: 'tenant-a' } },
    });
    expect(await snapshot()).toEqual(before);
    expect((await f.api.get('/v1/orgs/3/location')).body).toMatchObject({ clusterId: 'tenant-b', source: 'placement' });
  });

  it('answers 409 PLACEMENT_MOVE_IN_FLIGHT while a move of the org is unfinished (pending, then aborting)', async () => {
    expect((await f.api.put('/v1/placements/1', { clusterId: 'tenant-a' })).status).toBe(200);
    const created = await f.api.post('/v1/moves', { orgIds: [1], to: 'tenant-b' });
    expect(created.status, created.text).toBe(202);
    const moveId = created.body.moves[0].id as string;
    for (const state of ['pending', 'aborting']) {
      if (state === 'aborting') expect((await f.api.post(`/v1/moves/${moveId}/abort`, {})).body.state).toBe('aborting');
      const before = await snapshot();
      const res = await f.api.delete('/v1/placements/1');
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({
        code: 'PLACEMENT_MOVE_IN_FLIGHT',
        hint: expect.stringContaining(`/v1/moves/${moveId}`),
        details: { orgId: 1, moveId, state },
      });
      expect(await snapshot()).toEqual(before);
    }
  });

  it('refuses PUT of a pin while its move is unfinished too (409 PLACEMENT_MOVE_IN_FLIGHT), changing nothing', async () => {
    const before = await snapshot();
    const res = await f.api.put('/v1/placements/1', { clusterId: 'tenant-b' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('PLACEMENT_MOVE_IN_FLIGHT');
    expect(await snapshot()).toEqual(before);
  });

  it('removes a pin that agrees with its range: the version moves on by one and the removal is audited', async () => {
    expect((await f.api.put('/v1/placements/1001', { clusterId: 'tenant-b' })).status).toBe(200);
    const [{ version }] = await f.sql('SELECT version::int FROM config_version');
    const res = await f.api.delete('/v1/placements/1001?reason=not+needed');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ version: version + 1 });
    const [entry] = (await f.api.get('/v1/audit?action=placement.remove&limit=1')).body.entries;
    expect(entry).toMatchObject({
      reason: 'not needed',
      before: { orgId: 1001, clusterId: 'tenant-b' },
      after: null,
      version: version + 1,
    });
    expect((await f.api.get('/v1/orgs/1001/location')).body).toMatchObject({ source: 'range', clusterId: 'tenant-b' });
  });
});
