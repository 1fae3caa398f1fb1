// A batch of small orgs under a poll interval longer than the test may take: the
// executor starts each move as the one before it ends (a finished worker wakes it, as
// the NOTIFY of a new move does), not at its next look at the moves table. A move that
// waited for a poll tick would not finish within the test's limit.

import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Fixture, type Json, ORG_ID_MAX, startFixture, waitFor } from '../helpers.js';
import { orgCounts, seedOrg } from './workload.js';

const A = 'tenant-a';
const B = 'tenant-b';
const POLL_MS = 60_000;
let f: Fixture;
const pools: Record<string, pg.Pool> = {};

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_MOVE_POLL_MS: String(POLL_MS), ORGPLANE_LOG_LEVEL: 'info' } });
  for (const id of [A, B]) {
    const url = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    pools[id] = new pg.Pool({ connectionString: url, max: 4 });
    expect((await f.api.post('/v1/clusters', { id, primary: { url } })).status).toBe(201);
  }
  await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: A }] });
});
afterAll(async () => {
  await f?.close();
  for (const pool of Object.values(pools)) await pool.end();
});

/** When the move's first event in `state` was recorded. */
function at(move: Json, state: string): number {
  const event = move.events.find((e: Json) => e.state === state);
  if (!event) throw new Error(`move ${move.id} has no ${state} event`);
  return Date.parse(event.at);
}

describe('a batch of small orgs', () => {
  it(
    'runs its moves one after another, each started by the end of the one before, not by a poll',
    async () => {
      const orgIds = [301, 302, 303, 304, 305];
      for (const orgId of orgIds) await seedOrg(pools[A]!, orgId, { rows: 5 });
      const res = await f.api.post('/v1/moves', { orgIds, to: B, concurrency: 1, graceSeconds: 0, reason: 'pace' });
      expect(res.status, res.text).toBe(202);
      const ids: string[] = res.body.moves.map((m: Json) => m.id);
      const moves: Json[] = [];
      await waitFor(
        `every move of the batch to complete before a ${POLL_MS} ms poll could have started one`,
        async () => {
          moves.length = 0;
          for (const id of ids) moves.push((await f.api.get(`/v1/moves/${id}`)).body);
          if (moves.some((m) => m.state === 'failed')) throw new Error(`a move failed: ${JSON.stringify(moves.map((m) => m.error))}`);
          return moves.every((m) => m.state === 'completed');
        },
        POLL_MS - 15_000,
      );
      // One at a time: each move started after the one before it had completed.
      const byStart = [...moves].sort((x, y) => at(x, 'preparing') - at(y, 'preparing'));
      for (let i = 1; i < byStart.length; i++) {
        expect(at(byStart[i], 'preparing')).toBeGreaterThanOrEqual(at(byStart[i - 1], 'completed'));
      }
      for (const orgId of orgIds) {
        expect((await f.api.get(`/v1/orgs/${orgId}/location`)).body.clusterId).toBe(B);
        expect((await orgCounts(pools[B]!, orgId))['guests']).toBe(5);
        expect((await orgCounts(pools[A]!, orgId))['guests']).toBe(0);
      }
    },
    POLL_MS,
  );
});
