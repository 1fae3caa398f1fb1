// The request guards' config: rate-limit policies and the CORS allow-list. Every change is
// a config change (version, delta with the complete new list, audit row), so each running
// runtime applies it from its watch stream within a second.
import { ownerLookup } from '@orgplane/runtime/rules';
import { canonicalOrigin, type RateLimitSubject, type WireRateLimitPolicy } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import {
  AlreadyExistsError,
  ClusterUnreachableError,
  CorsOriginNotFoundError,
  InvalidOriginError,
  OrgNotFoundError,
  RangeNotFoundError,
  RateLimitNotFoundError,
} from '../../errors.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import type { MutationMeta } from '../clusters/ClusterService.js';
import { commitConfigChange } from '../config/commitConfigChange.js';
import { missingOrgIds } from '../moves/SourceOrgIds.js';

import type { PolicyKey } from './GuardConfigStore.js';

export interface PolicyValues {
  limit: number;
  windowSeconds: number;
  /** Defaults to `limit` (a whole window's worth at once). */
  burst?: number | undefined;
  shadow?: boolean | undefined;
}

export interface LimitsQuery {
  tier?: string | undefined;
  orgId?: number | undefined;
}

const ownerName = (key: PolicyKey) => (key.tier !== undefined ? `tier '${key.tier}'` : `org ${key.orgId}`);

export class GuardConfigService {
  constructor(private readonly db: Database<Stores>) {}

  async listLimits(query: LimitsQuery = {}): Promise<{ version: number; policies: WireRateLimitPolicy[] }> {
    return this.db.transaction(
      async (stores) => {
        const policies = (await stores.guards.listPolicies()).filter(
          (p) => (query.tier === undefined || p.tier === query.tier) && (query.orgId === undefined || p.orgId === query.orgId),
        );
        return { version: await stores.configLog.currentVersion(), policies };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  /** Create or replace one policy. An org override needs the org to exist where the map routes it. */
  async setLimit(
    actor: Actor,
    key: PolicyKey,
    values: PolicyValues & MutationMeta,
  ): Promise<{ version: number; policy: WireRateLimitPolicy }> {
    if (key.orgId !== undefined) await this.requireOrg(key.orgId);
    const policy: WireRateLimitPolicy = {
      tier: key.tier ?? null,
      orgId: key.orgId ?? null,
      subject: key.subject,
      routeClass: key.routeClass,
      limit: values.limit,
      windowSeconds: values.windowSeconds,
      burst: values.burst ?? values.limit,
      shadow: values.shadow ?? false,
    };
    const { version, result } = await commitConfigChange(
      this.db,
      { actor, action: 'limits.set', reason: values.reason, expectedVersion: values.expectedVersion },
      async (stores) => {
        const before = await stores.guards.getPolicy(key);
        const after = await stores.guards.upsertPolicy(policy);
        return { result: after, before, after, delta: { rateLimits: await stores.guards.listPolicies() } };
      },
    );
    return { version, policy: result };
  }

  async unsetLimit(actor: Actor, key: PolicyKey, meta: MutationMeta = {}): Promise<{ version: number; policy: WireRateLimitPolicy }> {
    const { version, result } = await commitConfigChange(
      this.db,
      { actor, action: 'limits.unset', reason: meta.reason, expectedVersion: meta.expectedVersion },
      async (stores) => {
        const before = await stores.guards.deletePolicy(key);
        if (!before) throw new RateLimitNotFoundError(ownerName(key), key.subject, key.routeClass);
        return { result: before, before, after: null, delta: { rateLimits: await stores.guards.listPolicies() } };
      },
    );
    return { version, policy: result };
  }

  async listOrigins(): Promise<{ version: number; origins: string[] }> {
    return this.db.transaction(
      async (stores) => ({ version: await stores.configLog.currentVersion(), origins: await stores.guards.listOrigins() }),
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  async addOrigin(actor: Actor, text: string, meta: MutationMeta = {}): Promise<{ version: number; origin: string; origins: string[] }> {
    const origin = requireOrigin(text);
    const { version, result } = await commitConfigChange(
      this.db,
      { actor, action: 'cors.add', reason: meta.reason, expectedVersion: meta.expectedVersion },
      async (stores) => {
        if (!(await stores.guards.addOrigin(origin))) {
          throw new AlreadyExistsError(`origin ${origin} is on the CORS allow-list already`, { details: { origin } });
        }
        const origins = await stores.guards.listOrigins();
        return { result: origins, before: null, after: { origin }, delta: { corsOrigins: origins } };
      },
    );
    return { version, origin, origins: result };
  }

  async removeOrigin(actor: Actor, text: string, meta: MutationMeta = {}): Promise<{ version: number; origin: string; origins: string[] }> {
    const origin = requireOrigin(text);
    const { version, result } = await commitConfigChange(
      this.db,
      { actor, action: 'cors.remove', reason: meta.reason, expectedVersion: meta.expectedVersion },
      async (stores) => {
        if (!(await stores.guards.removeOrigin(origin))) throw new CorsOriginNotFoundError(origin);
        const origins = await stores.guards.listOrigins();
        return { result: origins, before: { origin }, after: null, delta: { corsOrigins: origins } };
      },
    );
    return { version, origin, origins: result };
  }

  /** The org must exist on the cluster the map routes it to (its `organizations` row). */
  private async requireOrg(orgId: number): Promise<void> {
    const { clusterId, url } = await this.db.transaction(
      async (stores) => {
        const owner = ownerLookup(await stores.ranges.list(), await stores.placements.getMany([orgId]))(orgId);
        if (owner === null) {
          throw new RangeNotFoundError(`no range holds org ${orgId}`, {
            hint: 'the shard map does not cover it: see GET /v1/shard-map',
            details: { orgId },
          });
        }
        return { clusterId: owner, url: (await stores.clusters.get(owner))!.primaryUrl };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
    let missing: number[];
    try {
      missing = await missingOrgIds(url, [orgId]);
    } catch (err) {
      throw new ClusterUnreachableError(clusterId, { cause: err });
    }
    if (missing.length > 0) throw new OrgNotFoundError(orgId, clusterId);
  }
}

function requireOrigin(text: string): string {
  const origin = canonicalOrigin(text);
  if (origin === null) throw new InvalidOriginError(text);
  return origin;
}

export type { RateLimitSubject };
