// POST /v1/moves and the decisions on a move: bad input is refused by name and changes
// nothing (no move rows, no audit rows, the config version unchanged). The executor is
// off here, so created moves stay where the API put them.

import { createTestDatabase } from '@orgplane/embedded';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Fixture, type Json, ORG_ID_MAX, seedOrgs, startFixture } from '../helpers.js';

let f: Fixture;
const tenants: Record<string, string> = {};

async function snapshot(): Promise<Json> {
  const [counts] = await f.sql(
    `SELECT (SELECT count(*)::int FROM moves) AS moves, (SELECT count(*)::int FROM move_batches) AS batches,
            (SELECT count(*)::int FROM audit_log) AS audit, (SELECT version::int FROM config_version) AS version,
            (SELECT count(*)::int FROM placements) AS placements`,
  );
  return counts;
}

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_MOVE_EXECUTOR: 'off' } });
  for (const id of ['tenant-a', 'tenant-b']) {
    tenants[id] = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    const res = await f.api.post('/v1/clusters', { id, primary: { url: tenants[id] } });
    expect(res.status).toBe(201);
  }
  await f.api.put('/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999, clusterId: 'tenant-a' },
      { lo: 1000, hi: ORG_ID_MAX, clusterId: 'tenant-b' },
    ],
  });
  await seedOrgs(tenants['tenant-a']!, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await seedOrgs(tenants['tenant-b']!, [1001, 1002]);
});
afterAll(async () => {
  await f?.close();
});

describe('POST /v1/moves refuses bad input and changes nothing', () => {
  it.each([
    ['a percent above 100', { from: 'tenant-a', to: 'tenant-b', percent: 101 }, 400, 'INVALID_INPUT'],
    ['a negative percent', { from: 'tenant-a', to: 'tenant-b', percent: -1 }, 400, 'INVALID_INPUT'],
    ['a fractional percent', { from: 'tenant-a', to: 'tenant-b', percent: 2.5 }, 400, 'INVALID_INPUT'],
    ['both orgIds and percent', { orgIds: [1], from: 'tenant-a', to: 'tenant-b', percent: 10 }, 400, 'INVALID_INPUT'],
    ['neither orgIds nor percent', { to: 'tenant-b' }, 400, 'INVALID_INPUT'],
    ['an empty orgIds', { orgIds: [], to: 'tenant-b' }, 400, 'INVALID_INPUT'],
    ['a percent without from', { to: 'tenant-b', percent: 10 }, 400, 'INVALID_INPUT'],
    ['a duplicate org id', { orgIds: [1, 1], to: 'tenant-b' }, 400, 'INVALID_INPUT'],
    ['concurrency 0', { orgIds: [1], to: 'tenant-b', concurrency: 0 }, 400, 'INVALID_INPUT'],
    ['a fence deadline under 50 ms', { orgIds: [1], to: 'tenant-b', fenceDeadlineMs: 10 }, 400, 'INVALID_INPUT'],
    ['an inverted range', { from: 'tenant-a', to: 'tenant-b', percent: 10, range: { lo: 9, hi: 1 } }, 400, 'INVALID_INPUT'],
    ['a string org id', { orgIds: ['7'], to: 'tenant-b' }, 400, 'INVALID_ORG_ID'],
    ['a negative org id', { orgIds: [-3], to: 'tenant-b' }, 400, 'INVALID_ORG_ID'],
    ['an unknown target cluster', { orgIds: [1], to: 'tenant-z' }, 404, 'CLUSTER_NOT_FOUND'],
    ['an unknown source cluster', { from: 'tenant-z', to: 'tenant-b', percent: 10 }, 404, 'CLUSTER_NOT_FOUND'],
    ['an org that does not exist on its cluster', { orgIds: [1, 77], to: 'tenant-b' }, 404, 'ORG_NOT_FOUND'],
    ['a move to the cluster that owns the org', { orgIds: [1001], to: 'tenant-b' }, 409, 'ALREADY_ON_CLUSTER'],
    ['a percent move onto its own source', { from: 'tenant-a', to: 'tenant-a', percent: 10 }, 409, 'ALREADY_ON_CLUSTER'],
  ])('%s', async (_name, body, status, code) => {
    const before = await snapshot();
    const res = await f.api.post('/v1/moves', body);
    expect(res.status, res.text).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.hint ?? res.body.error.details).toBeDefined();
    expect(await snapshot()).toEqual(before);
  });

  it('answers a rollout-scoped token 403 and an sdk token 403, changing nothing', async () => {
    const before = await snapshot();
    for (const scope of ['rollout', 'sdk:read'] as const) {
      const res = await f.api.as(f.tokens[scope]).post('/v1/moves', { orgIds: [1], to: 'tenant-b' });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('moves created through the API', () => {
  let moveId: string;

  it('creates one pending move per org, a batch and one audit row, without a config change', async () => {
    const before = await snapshot();
    const res = await f.api.as(f.tokens.operator).post('/v1/moves', { orgIds: [2, 3], to: 'tenant-b', reason: 'rebalance' });
    expect(res.status, res.text).toBe(202);
    expect(res.body.batch).toMatchObject({ id: expect.stringMatching(/^mb_/), to: 'tenant-b', concurrency: 4, total: 2 });
    expect(res.body.moves).toHaveLength(2);
    expect(res.body.moves[0]).toMatchObject({
      id: expect.stringMatching(/^mv_[0-9a-f]{16}$/),
      batchId: res.body.batch.id,
      orgId: 2,
      from: 'tenant-a',
      to: 'tenant-b',
      state: 'pending',
      attempt: 0,
      fenceDeadlineMs: 1000,
      graceSeconds: 3600,
      progress: { rowsCopied: 0, bytesCopied: 0, changesPending: 0 },
    });
    moveId = res.body.moves[0].id;
    expect(await snapshot()).toEqual({ ...before, moves: before.moves + 2, batches: before.batches + 1, audit: before.audit + 1 });
    const [audit] = (await f.api.get('/v1/audit?action=move.create&limit=1')).body.entries;
    expect(audit).toMatchObject({ actor: 'test-operator', reason: 'rebalance', version: null, after: { orgIds: [2, 3] } });
  });

  it('refuses a second move of an org that is moving: ORG_ALREADY_MOVING, nothing changed', async () => {
    const before = await snapshot();
    const res = await f.api.post('/v1/moves', { orgIds: [4, 2], to: 'tenant-b' });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'ORG_ALREADY_MOVING', details: { orgId: 2, moveId } });
    expect(await snapshot()).toEqual(before);
  });

  it('shows a move with its tables and events, lists and pages moves, and counts a batch', async () => {
    const move = (await f.api.as(f.tokens.rollout).get(`/v1/moves/${moveId}`)).body;
    expect(move).toMatchObject({ id: moveId, state: 'pending', tables: [], events: [{ state: 'pending' }] });
    const list = (await f.api.get('/v1/moves')).body.moves;
    expect(list.map((m: Json) => m.orgId)).toEqual([3, 2]);
    expect((await f.api.get(`/v1/moves?before=${list[0].id}`)).body.moves.map((m: Json) => m.orgId)).toEqual([2]);
    expect((await f.api.get('/v1/moves?orgId=3')).body.moves).toHaveLength(1);
    expect((await f.api.get('/v1/moves?state=completed')).body.moves).toEqual([]);
    expect((await f.api.get('/v1/moves?state=nonsense')).body.error.code).toBe('INVALID_INPUT');
    const batch = (await f.api.get(`/v1/move-batches/${move.batchId}`)).body;
    expect(batch).toMatchObject({ id: move.batchId, counts: { pending: 2 }, total: 2 });
    expect((await f.api.get('/v1/moves/mv_0000000000000000')).body.error.code).toBe('MOVE_NOT_FOUND');
    expect((await f.api.get('/v1/move-batches/mb_0000000000000000')).body.error.code).toBe('MOVE_BATCH_NOT_FOUND');
  });

  it('refuses decisions the move is not in a state for: INVALID_MOVE_STATE with the allowed states', async () => {
    const before = await snapshot();
    for (const action of ['rollback', 'complete', 'resume']) {
      const res = await f.api.post(`/v1/moves/${moveId}/${action}`, {});
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'INVALID_MOVE_STATE', details: { state: 'pending', allowed: expect.any(Array) } });
    }
    expect((await f.api.post('/v1/moves/mv_0000000000000000/abort', {})).body.error.code).toBe('MOVE_NOT_FOUND');
    // No body at all is the same as {}.
    expect((await f.api.request('POST', `/v1/moves/${moveId}/complete`)).body.error.code).toBe('INVALID_MOVE_STATE');
    expect((await f.api.as(f.tokens.rollout).post(`/v1/moves/${moveId}/abort`, {})).status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it('aborts a pending move (audited); the org may then move again', async () => {
    const res = await f.api.post(`/v1/moves/${moveId}/abort`, { reason: 'changed my mind' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.state).toBe('aborting');
    const [audit] = (await f.api.get('/v1/audit?action=move.abort&limit=1')).body.entries;
    expect(audit).toMatchObject({ reason: 'changed my mind', before: { state: 'pending' }, after: { state: 'aborting' } });
    // Still unfinished until the executor has aborted it.
    expect((await f.api.post('/v1/moves', { orgIds: [2], to: 'tenant-b' })).body.error.code).toBe('ORG_ALREADY_MOVING');
  });

  it('chooses percent of the orgs on the source deterministically, skipping orgs already moving', async () => {
    const request = { from: 'tenant-a', to: 'tenant-b', percent: 50, concurrency: 2, range: { lo: 0, hi: 999 } };
    const first = await f.api.post('/v1/moves', request);
    expect(first.status, first.text).toBe(202);
    // 10 orgs on tenant-a, 2 and 3 already moving: 50 % of the other 8, the 4 of lowest sha1 rank.
    const orgs = first.body.moves.map((m: Json) => m.orgId);
    expect(orgs).toEqual([1, 4, 7, 9]);
    expect(first.body.batch).toMatchObject({ from: 'tenant-a', percent: 50, concurrency: 2, range: { lo: 0, hi: 999 } });
    // The same request against the same population chooses the same orgs: forget the
    // batch (the executor is off, so its moves are only rows) and ask again.
    await f.sql('DELETE FROM moves WHERE batch_id = $1', [first.body.batch.id]);
    await f.sql('DELETE FROM move_batches WHERE id = $1', [first.body.batch.id]);
    const again = await f.api.post('/v1/moves', request);
    expect(again.status, again.text).toBe(202);
    expect(again.body.batch.id).not.toBe(first.body.batch.id);
    expect(again.body.moves.map((m: Json) => m.orgId)).toEqual(orgs);
    const zero = await f.api.post('/v1/moves', { from: 'tenant-a', to: 'tenant-b', percent: 0 });
    expect(zero.status).toBe(202);
    expect(zero.body.moves).toEqual([]);
  });
});
