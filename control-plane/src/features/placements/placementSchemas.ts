import { Type } from 'typebox';
import { Body, Digits, Doc, mutationMeta, OrgIdText, Params, Query, ResourceId, Version } from '../../http/schemas.js';
import { PlacementState, WirePlacementSchema } from '../../http/wireSchemas.js';
import { DataOn, RerouteReport } from '../shard-map/shardMapSchemas.js';

export const PlacementListQuery = Query({
  clusterId: Type.Optional(ResourceId),
  limit: Type.Optional(Digits),
  after: Type.Optional(Type.String({ description: 'An org id: the page starts after it.' })),
});
export const PlacementParams = Params({ orgId: OrgIdText });
export const SetPlacementBody = Body({ clusterId: ResourceId, state: Type.Optional(PlacementState), dataOn: DataOn, ...mutationMeta });

export const PlacementList = Doc({ version: Version, placements: Type.Array(WirePlacementSchema, { description: 'By org id.' }) });
export const PlacementChange = Doc({
  version: Version,
  placement: WirePlacementSchema,
  reroutes: Type.Optional(Type.Array(RerouteReport, { description: 'Present when the pin routed the org to another cluster.' })),
});
export const PlacementRemoved = Doc({ version: Version });
