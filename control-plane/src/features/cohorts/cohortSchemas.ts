import { ORG_ID_MAX } from '@orgplane/runtime/wire';
import { Type } from 'typebox';
import { MAX_PILOT_COUNT, MAX_PILOT_EXCLUSIONS } from '../../api/rules.js';
import { AnyValue, Body, Digits, Doc, OrgId, Params, Query, Reason, Timestamp } from '../../http/schemas.js';
import { Flag } from '../rollouts/rolloutSchemas.js';

export const Seed = Type.Integer({
  minimum: 0,
  maximum: ORG_ID_MAX,
  description: 'The sampling seed: the same seed draws the same cohort.',
});

export const SelectPilotBody = Body({
  name: Flag,
  count: Type.Integer({ minimum: 1, maximum: MAX_PILOT_COUNT }),
  seed: Seed,
  exclude: Type.Optional(Type.Array(AnyValue, { maxItems: MAX_PILOT_EXCLUSIONS })),
  reason: Type.Optional(Reason),
});
export const CohortParams = Params({ name: Type.String() });
export const CohortPageQuery = Query({
  limit: Type.Optional(Digits),
  after: Type.Optional(Type.String({ description: 'An org id: the page starts after it.' })),
});

export const Stratum = Doc(
  {
    size: Type.String(),
    activity: Type.String(),
    population: Type.Integer({ minimum: 0 }),
    selected: Type.Integer({ minimum: 0 }),
    populationShare: Type.Number({ minimum: 0, maximum: 1 }),
    selectedShare: Type.Number({ minimum: 0, maximum: 1 }),
  },
  { description: 'One size x activity stratum: its count and share in the population and in the cohort.' },
);
const summaryFields = { name: Type.String(), size: Type.Integer({ minimum: 0 }), seed: Seed, createdAt: Timestamp };
export const PilotSelection = Doc({
  cohort: Doc({ name: Type.String(), size: Type.Integer({ minimum: 0 }), seed: Seed }),
  strata: Type.Array(Stratum),
});
export const CohortList = Doc({ cohorts: Type.Array(Doc(summaryFields)) });
export const CohortPage = Doc({
  ...summaryFields,
  strata: Type.Array(Stratum),
  orgIds: Type.Array(OrgId, { description: 'One page, ascending.' }),
});
