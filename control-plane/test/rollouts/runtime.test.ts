// A running runtime (createRuntime against a listening control plane) follows rollout
// changes: `set` and `kill` flip isEnabled without a restart, pilot members stay in.
import { createRuntime, type Runtime } from '@orgplane/runtime';
import { rolloutBucket } from '@orgplane/runtime/rules';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayOrgStatsSource } from '../../src/features/cohorts/OrgStatsSource.js';
import { type Fixture, startFixture, waitFor } from '../helpers.js';

const GROUP = 'checkout:v2';
const ORG_IDS = Array.from({ length: 400 }, (_, i) => 10_000 + i);

let f: Fixture;
let runtime: Runtime;

beforeAll(async () => {
  f = await startFixture({
    build: {
      cohorts: {
        statsSource: async () =>
          new ArrayOrgStatsSource(ORG_IDS.map((orgId) => ({ orgId, sizeRows: orgId % 100, lastActiveAt: new Date() }))),
      },
    },
  });
  const url = await f.cp.app.listen({ host: '127.0.0.1', port: 0 });
  expect((await f.api.post('/v1/pilot/select', { name: 'pilot', count: 40, seed: 1 })).status).toBe(201);
  const created = await f.api.post('/v1/rollouts', {
    flag: 'checkout',
    groupId: GROUP,
    pilotCohort: 'pilot',
    stages: [{ percent: 0 }, { percent: 10 }, { percent: 50 }, { percent: 100 }],
  });
  expect(created.status, created.text).toBe(201);
  // Started after the rollout exists: it learns it (and the pilot) from its first snapshot.
  runtime = createRuntime({ url, token: f.tokens['sdk:read'] });
  await runtime.ready(10_000);
});
afterAll(async () => {
  await runtime?.close();
  await f?.close();
});

const on = (orgId: number) => runtime.isEnabled('checkout', { orgId });

describe('a running runtime', () => {
  it('sees set, kill and resume as they happen', async () => {
    const pilot: number[] = (await f.api.get('/v1/cohorts/pilot')).body.orgIds;
    const outsider = ORG_IDS.find((id) => !pilot.includes(id) && rolloutBucket(GROUP, id) > 30)!;
    const inside = ORG_IDS.find((id) => !pilot.includes(id) && rolloutBucket(GROUP, id) <= 30)!;
    const pilotOutsideBucket = pilot.find((id) => rolloutBucket(GROUP, id) > 30)!;
    expect([outsider, inside, pilotOutsideBucket].every((id) => id !== undefined)).toBe(true);
    expect([on(inside), on(outsider), on(pilotOutsideBucket)]).toEqual([false, false, false]);

    expect((await f.api.post('/v1/rollouts/checkout/set', { percent: 30 })).status).toBe(200);
    await waitFor('set 30 to reach the runtime', () => on(inside));
    expect(on(outsider)).toBe(false);
    expect(on(pilotOutsideBucket)).toBe(true);

    expect((await f.api.post('/v1/rollouts/checkout/kill', { reason: 'errors' })).status).toBe(200);
    await waitFor('kill to reach the runtime', () => !on(inside));
    expect(on(pilotOutsideBucket)).toBe(false);

    expect((await f.api.post('/v1/rollouts/checkout/resume', {})).status).toBe(200);
    await waitFor('resume to reach the runtime', () => on(inside) && on(pilotOutsideBucket));
    expect(on(outsider)).toBe(false);

    expect((await f.api.post('/v1/rollouts/checkout/set', { percent: 100 })).status).toBe(200);
    await waitFor('set 100 to reach the runtime', () => on(outsider));
  });
});
