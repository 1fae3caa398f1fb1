// The promise of the Unleash client API: for every org, the official unleash-client
// pointed at /api/client/features decides exactly as the runtime's isEnabled, at every
// stage of a rollout with a pilot cohort; stages are monotonic; pilot members stay in.
// Org ids 0..999,999 at every stage. The rollout is driven through the rollouts API.
import { createRuntime, type Runtime } from '@orgplane/runtime';
import type { Unleash } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayOrgStatsSource, type OrgStats } from '../../src/features/cohorts/OrgStatsSource.js';
import { type Fixture, type Json, startFixture, waitFor } from '../helpers.js';
import { listen, startUnleash } from './client.js';

const ORGS = 1_000_000;
const FLAG = 'checkout.v2';
const GROUP_ID = 'checkout-2026';
const NOW = new Date('2026-01-15T00:00:00Z');
// The population the pilot is drawn from: 5,000 orgs spread over the id space. The
// pilot stays small because unleash-client checks `IN` by copying and scanning the list
// on every call: at 500 members its isEnabled costs 5x what it costs at 50.
const PILOT_SIZE = 50;
// 7 x 1M evaluations by unleash-client take ~45 s of CPU; a shared machine needs longer.
const STAGE_TIMEOUT_MS = 600_000;
const POPULATION: OrgStats[] = Array.from({ length: 5000 }, (_, i) => ({
  orgId: i * 199 + (i % 7),
  sizeRows: (i % 10) * 25,
  lastActiveAt: new Date(NOW.getTime() - (i % 4) * 7 * 86_400_000),
}));

let f: Fixture;
let baseUrl: string;
let runtime: Runtime;
let unleash: Unleash;
let pilot: number[];

beforeAll(async () => {
  f = await startFixture({
    env: { ORGPLANE_LOG_LEVEL: 'warn' },
    build: { cohorts: { statsSource: async () => new ArrayOrgStatsSource(POPULATION), now: () => NOW } },
  });
  baseUrl = await listen(f.cp);
  const rollouts = f.api.as(f.tokens.rollout);
  expect((await rollouts.post('/v1/pilot/select', { name: 'pilot-a', count: PILOT_SIZE, seed: 42 })).status).toBe(201);
  pilot = (await f.api.get('/v1/cohorts/pilot-a?limit=1000')).body.orgIds;
  expect(pilot).toHaveLength(PILOT_SIZE);
  const created = await rollouts.post('/v1/rollouts', {
    flag: FLAG,
    groupId: GROUP_ID,
    pilotCohort: 'pilot-a',
    stages: [{ percent: 0 }, { percent: 10 }, { percent: 25 }, { percent: 50 }, { percent: 100 }],
  });
  expect(created.status, created.text).toBe(201);
  runtime = createRuntime({ url: baseUrl, token: f.tokens['sdk:read'] });
  await runtime.ready(10_000);
  // A long-lived client that polls often: each stage reaches it through a new ETag.
  unleash = await startUnleash(baseUrl, f.tokens['sdk:read'], { appName: 'equivalence', refreshInterval: 50 });
});
afterAll(async () => {
  unleash?.destroy();
  await runtime?.close();
  await f?.close();
});

/** Apply a rollout transition and wait until both the runtime and the Unleash client see it. */
async function transition(verb: string): Promise<Json> {
  const res = await f.api.as(f.tokens.rollout).post(`/v1/rollouts/${FLAG}/${verb}`, { reason: 'equivalence test' });
  expect(res.status, res.text).toBe(200);
  const rollout = res.body;
  await waitFor(`the runtime at version ${rollout.version}`, () => (runtime.version ?? 0) >= rollout.version);
  await waitFor(`the Unleash client at ${verb}`, () => {
    const feature = unleash.getFeatureToggleDefinition(FLAG);
    const flexible = feature?.strategies?.find((s) => s.name === 'flexibleRollout');
    return feature?.enabled === rollout.enabled && flexible?.parameters?.['rollout'] === String(rollout.percent);
  });
  return rollout;
}

/** Every org's decision by both, as 0/1 per org id; fails on the first few disagreements. */
function decideAll(): Uint8Array {
  const decisions = new Uint8Array(ORGS);
  const disagreements: { orgId: number; runtime: boolean; unleash: boolean }[] = [];
  let count = 0;
  for (let orgId = 0; orgId < ORGS; orgId++) {
    const byRuntime = runtime.isEnabled(FLAG, { orgId });
    const byUnleash = unleash.isEnabled(FLAG, { properties: { orgId: String(orgId) } });
    if (byRuntime !== byUnleash) {
      count++;
      if (disagreements.length < 10) disagreements.push({ orgId, runtime: byRuntime, unleash: byUnleash });
    }
    decisions[orgId] = byRuntime ? 1 : 0;
  }
  expect({ count, disagreements }).toEqual({ count: 0, disagreements: [] });
  return decisions;
}

const enabledCount = (decisions: Uint8Array): number => decisions.reduce((n, d) => n + d, 0);

describe('runtime and unleash-client decide alike for org ids 0..999,999', () => {
  const stages: Uint8Array[] = [];

  it('before the first stage: off for everyone', { timeout: STAGE_TIMEOUT_MS }, () => {
    const decisions = decideAll();
    expect(enabledCount(decisions)).toBe(0);
  });

  it.each([
    ['pilot', 0],
    ['10 %', 10],
    ['25 %', 25],
    ['50 %', 50],
    ['100 %', 100],
  ])('at stage %s: equal, monotonic, pilot members in', { timeout: STAGE_TIMEOUT_MS }, async (_name, percent) => {
    const rollout = await transition('advance');
    expect(rollout.percent).toBe(percent);
    const decisions = decideAll();
    for (const orgId of pilot) if (orgId < ORGS) expect(decisions[orgId], `pilot org ${orgId}`).toBe(1);
    const previous = stages.at(-1);
    if (previous) {
      const dropped = previous.findIndex((was, orgId) => was === 1 && decisions[orgId] === 0);
      expect(dropped, 'an org that was in left at a later stage').toBe(-1);
    }
    // The share in is the percentage, give or take (the pilot adds its few).
    const share = (enabledCount(decisions) - pilot.length) / ORGS;
    expect(Math.abs(share - percent / 100)).toBeLessThan(0.01);
    stages.push(decisions);
  });

  it('after the kill switch: off for everyone, pilot members included', { timeout: STAGE_TIMEOUT_MS }, async () => {
    const rollout = await transition('kill');
    expect(rollout.enabled).toBe(false);
    expect(enabledCount(decideAll())).toBe(0);
  });
});
