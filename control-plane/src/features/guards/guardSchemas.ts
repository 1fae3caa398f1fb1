import { Type } from 'typebox';
import { Body, Doc, mutationMeta, OrgIdText, Params, Query, Version } from '../../http/schemas.js';
import {
  CorsOrigin,
  GuardName,
  RateBurst,
  RateLimit,
  RateLimitSubject,
  RateWindowSeconds,
  WireRateLimitPolicySchema,
} from '../../http/wireSchemas.js';

export const LimitsQuery = Query({
  tier: Type.Optional(GuardName),
  orgId: Type.Optional(Type.String({ description: 'Only the overrides of this org (decimal org id).' })),
});
export const TierLimitParams = Params({ tier: GuardName, subject: RateLimitSubject, routeClass: GuardName });
export const OrgLimitParams = Params({ orgId: OrgIdText, subject: RateLimitSubject, routeClass: GuardName });
export const SetLimitBody = Body({
  limit: RateLimit,
  windowSeconds: RateWindowSeconds,
  burst: Type.Optional(RateBurst),
  shadow: Type.Optional(Type.Boolean({ description: 'Count and report, never refuse.' })),
  ...mutationMeta,
});

export const LimitList = Doc({
  version: Version,
  policies: Type.Array(WireRateLimitPolicySchema, { description: 'Tier defaults by tier, then org overrides by org id.' }),
});
export const LimitChange = Doc({ version: Version, policy: WireRateLimitPolicySchema });

export const CorsOriginParams = Params({ origin: Type.String({ description: 'The origin, URL-encoded.' }) });
export const AddCorsOriginBody = Body({ origin: Type.String({ minLength: 1, maxLength: 2048 }), ...mutationMeta });
export const CorsList = Doc({ version: Version, origins: Type.Array(CorsOrigin, { description: 'Sorted.' }) });
export const CorsChange = Doc({ version: Version, origin: CorsOrigin, origins: Type.Array(CorsOrigin) });
