// orgplane rollouts as Unleash features, so that an official Unleash SDK decides exactly
// as the runtime does (the rule is in WireRollout's doc comment, runtime/src/wire.ts):
//
//   enabled && (orgId in pilot || (percent > 0 && bucket(groupId, orgId) <= percent))
//
// - `enabled: false` is the feature's own switch: Unleash answers false for everyone.
// - the percentage is Unleash's flexibleRollout with `stickiness: "orgId"`, which hashes
//   `${groupId}:${orgId}` exactly like the runtime, and answers false at rollout 0;
// - the pilot is a `default` strategy constrained by `orgId IN [...]`. Strategies are
//   ORed, and the feature always has the flexibleRollout one, so it never has zero
//   strategies (which Unleash would read as "on for everyone").
//
// SDK users pass the org id as the custom context field `orgId`, in decimal:
// `unleash.isEnabled(flag, {properties: {orgId: String(orgId)}})`. unleash-client (Node)
// also finds a top-level `{orgId}` and stringifies numbers, but other SDKs only look in
// `properties`, so document the portable form. Without an orgId every rollout is off.
import type { WireCohort, WireRollout } from '@orgplane/runtime/wire';
import type { UnleashFeature, UnleashStrategy } from './unleashTypes.js';

/** The Unleash context field that carries the org id. */
export const ORG_ID_CONTEXT_FIELD = 'orgId';

export function rolloutToUnleashFeature(rollout: WireRollout, pilot: WireCohort | undefined): UnleashFeature {
  const strategies: UnleashStrategy[] = [];
  if (pilot && pilot.orgIds.length > 0) {
    strategies.push({
      name: 'default',
      parameters: {},
      constraints: [
        {
          contextName: ORG_ID_CONTEXT_FIELD,
          operator: 'IN',
          values: pilot.orgIds.map(String),
          inverted: false,
          caseInsensitive: false,
        },
      ],
    });
  }
  strategies.push({
    name: 'flexibleRollout',
    parameters: { rollout: String(rollout.percent), stickiness: ORG_ID_CONTEXT_FIELD, groupId: rollout.groupId },
    constraints: [],
  });
  return {
    name: rollout.flag,
    description: pilot ? `orgplane rollout (pilot cohort '${pilot.name}')` : 'orgplane rollout',
    type: 'release',
    project: 'default',
    enabled: rollout.enabled,
    stale: false,
    impressionData: false,
    strategies,
    variants: [],
  };
}

/** Every rollout as a feature, in the snapshot's order; a pilot cohort not in `cohorts` counts as empty. */
export function rolloutsToUnleashFeatures(rollouts: readonly WireRollout[], cohorts: readonly WireCohort[]): UnleashFeature[] {
  const byName = new Map(cohorts.map((cohort) => [cohort.name, cohort]));
  return rollouts.map((rollout) =>
    rolloutToUnleashFeature(rollout, rollout.pilotCohort === null ? undefined : byName.get(rollout.pilotCohort)),
  );
}
