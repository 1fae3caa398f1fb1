import { Type } from 'typebox';
import { Doc, Nullable, OrgId, OrgIdText, Params, ResourceId, Version } from '../../http/schemas.js';
import { WirePlacementSchema, WireRangeSchema } from '../../http/wireSchemas.js';

export const OrgParams = Params({ orgId: OrgIdText });
export const OrgLocation = Doc(
  {
    orgId: OrgId,
    clusterId: ResourceId,
    source: Type.Enum(['placement', 'range']),
    range: Nullable(WireRangeSchema),
    placement: Nullable(WirePlacementSchema),
    version: Version,
  },
  { description: 'The cluster serving an org and why: its placement (a pin) or its range.' },
);
