// The pure mapping from the config's rollouts and pilot cohorts to Unleash features,
// checked by shape and by what the official unleash-client decides from it.
import { rolloutBucket } from '@orgplane/runtime/rules';
import type { WireCohort, WireRollout } from '@orgplane/runtime/wire';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { describe, expect, it } from 'vitest';
import { rolloutsToUnleashFeatures } from '../../src/features/unleash/rolloutFeatures.js';
import type { UnleashFeature } from '../../src/features/unleash/unleashTypes.js';
import { synchronized } from './client.js';

const rollout = (over: Partial<WireRollout>): WireRollout => ({
  flag: 'f',
  groupId: 'f',
  enabled: true,
  percent: 0,
  pilotCohort: null,
  ...over,
});

/** An unleash-client that holds exactly these features and never calls a server. */
async function clientWith(features: UnleashFeature[]): Promise<Unleash> {
  const client = new Unleash({
    appName: 'mapping-test',
    url: 'http://127.0.0.1:9/api/',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
    bootstrap: { data: features as never },
  });
  client.on('error', () => {});
  await synchronized(client);
  return client;
}

describe('rolloutsToUnleashFeatures', () => {
  it('maps a rollout with a pilot to a default strategy constrained by orgId IN, then flexibleRollout', () => {
    const cohorts: WireCohort[] = [{ name: 'p', orgIds: [0, 7, 9007199254740991] }];
    const [feature] = rolloutsToUnleashFeatures([rollout({ flag: 'checkout', groupId: 'g:1', percent: 25, pilotCohort: 'p' })], cohorts);
    expect(feature).toMatchObject({
      name: 'checkout',
      enabled: true,
      project: 'default',
      strategies: [
        {
          name: 'default',
          constraints: [{ contextName: 'orgId', operator: 'IN', values: ['0', '7', '9007199254740991'], inverted: false }],
        },
        { name: 'flexibleRollout', parameters: { rollout: '25', stickiness: 'orgId', groupId: 'g:1' }, constraints: [] },
      ],
    });
  });

  it('keeps the flexibleRollout strategy at 0 % so the feature never has zero strategies (Unleash: on for everyone)', async () => {
    const features = rolloutsToUnleashFeatures(
      [
        rollout({ flag: 'zero' }),
        rollout({ flag: 'missing-pilot', pilotCohort: 'gone' }),
        rollout({ flag: 'empty-pilot', pilotCohort: 'e' }),
      ],
      [{ name: 'e', orgIds: [] }],
    );
    for (const feature of features) expect(feature.strategies.map((s) => s.name)).toEqual(['flexibleRollout']);
    const client = await clientWith(features);
    try {
      for (const flag of ['zero', 'missing-pilot', 'empty-pilot']) {
        for (const orgId of [0, 1, 42, 999_999]) expect(client.isEnabled(flag, { properties: { orgId: String(orgId) } })).toBe(false);
      }
    } finally {
      client.destroy();
    }
  });

  it('decides with unleash-client: pilot in at 0 %, everyone in at 100 %, nobody when disabled or without an orgId', async () => {
    const cohorts: WireCohort[] = [{ name: 'p', orgIds: [5, 6] }];
    const client = await clientWith(
      rolloutsToUnleashFeatures(
        [
          rollout({ flag: 'pilot-only', pilotCohort: 'p' }),
          rollout({ flag: 'all', percent: 100 }),
          rollout({ flag: 'killed', percent: 100, enabled: false, pilotCohort: 'p' }),
        ],
        cohorts,
      ),
    );
    try {
      const on = (flag: string, orgId: number) => client.isEnabled(flag, { properties: { orgId: String(orgId) } });
      expect([on('pilot-only', 5), on('pilot-only', 6), on('pilot-only', 7)]).toEqual([true, true, false]);
      expect([on('all', 0), on('all', 123_456_789)]).toEqual([true, true]);
      expect([on('killed', 5), on('killed', 1)]).toEqual([false, false]);
      expect(client.isEnabled('all', {})).toBe(false);
      // unleash-client (Node) also reads a top-level orgId, numbers included.
      expect(client.isEnabled('pilot-only', { orgId: 5 } as never)).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('pins the bucket boundary exactly: the same org is out at the percent below its bucket and in at its bucket', async () => {
    // The runtime's bucket for org 42 in group g: the rule of WireRollout's doc comment.
    const bucket = rolloutBucket('g', 42);
    expect(bucket).toBeGreaterThan(1);
    const client = await clientWith(
      rolloutsToUnleashFeatures(
        [rollout({ flag: 'below', groupId: 'g', percent: bucket - 1 }), rollout({ flag: 'at', groupId: 'g', percent: bucket })],
        [],
      ),
    );
    try {
      expect(client.isEnabled('below', { properties: { orgId: '42' } })).toBe(false);
      expect(client.isEnabled('at', { properties: { orgId: '42' } })).toBe(true);
    } finally {
      client.destroy();
    }
  });
});
