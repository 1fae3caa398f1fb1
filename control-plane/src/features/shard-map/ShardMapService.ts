import { ORG_ID_MAX, ORG_ID_MIN, type WireRange } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { ClusterNotAcceptingOrgsError, ClusterNotFoundError, DataOnMismatchError, RangeMovingError } from '../../errors.js';
import { requireOrgId } from '../../lib/orgId.js';
import type { Logger } from '../../logger.js';
import type { Stores } from '../../stores.js';
import type { AuditAction } from '../audit/AuditStore.js';
import type { Actor } from '../auth/Actor.js';
import type { MutationMeta } from '../clusters/ClusterService.js';
import { commitConfigChange } from '../config/commitConfigChange.js';
import { guardAudit, guardReroutes, MarkerUndo, type RerouteReport, rangeReroutes } from './RerouteGuard.js';
import { assignSpan, mergeSpan, reroutedSpans, splitAt, validateCover } from './rangeRules.js';

export interface RangesResult {
  version: number;
  ranges: WireRange[];
  /** What the change routes elsewhere, what the old cluster held and whether it now refuses them (none: omitted). */
  reroutes?: RerouteReport[];
}

/** A change that may route orgs elsewhere: `dataOn` says their rows are on the new cluster already. */
export interface RerouteMeta extends MutationMeta {
  dataOn?: string | undefined;
}

/** Ranges as they arrive in a body: org ids not yet checked. */
export interface RangeInput {
  lo: unknown;
  hi: unknown;
  clusterId: string;
}

/** Refuse clusters that do not exist or are retired: they cannot receive ranges or placements. */
export async function assertClustersCanServe(stores: Stores, clusterIds: readonly string[]): Promise<void> {
  const states = await stores.clusters.states(clusterIds);
  for (const id of clusterIds) {
    const state = states.get(id);
    if (state === undefined) throw new ClusterNotFoundError(id);
    if (state === 'retired') throw new ClusterNotAcceptingOrgsError(id, state);
  }
}

/** Refuse clusters that do not exist, or are draining or retired: they take no new orgs. */
export async function assertClustersAcceptOrgs(stores: Stores, clusterIds: readonly string[]): Promise<void> {
  const states = await stores.clusters.states(clusterIds);
  for (const id of clusterIds) {
    const state = states.get(id);
    if (state === undefined) throw new ClusterNotFoundError(id);
    if (state !== 'active') throw new ClusterNotAcceptingOrgsError(id, state);
  }
}

/**
 * A range move owns the ranges of its span until it finishes: its flip (and a rollback)
 * reassigns exactly those ranges, so no other change may split, merge or reassign them.
 */
async function assertMovingSpansUnchanged(stores: Stores, before: readonly WireRange[], after: readonly WireRange[]): Promise<void> {
  const moving = await stores.moves.unfinishedRanges(ORG_ID_MIN, ORG_ID_MAX);
  for (const span of moving) {
    const within = (ranges: readonly WireRange[]) =>
      ranges
        .filter((r) => r.hi >= span.lo && r.lo <= span.hi)
        .map((r) => `${Math.max(r.lo, span.lo)}-${Math.min(r.hi, span.hi)}@${r.clusterId}`)
        .join(',');
    if (within(before) !== within(after)) throw new RangeMovingError('the shard-map change touches a moving range', span);
  }
}

export class ShardMapService {
  constructor(
    private readonly db: Database<Stores>,
    private readonly log: Logger,
  ) {}

  async get(): Promise<{ version: number; ranges: WireRange[]; placementCount: number }> {
    return this.db.transaction(
      async (stores) => ({
        version: await stores.configLog.currentVersion(),
        ranges: await stores.ranges.list(),
        placementCount: await stores.placements.count(),
      }),
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  async setRanges(actor: Actor, input: RerouteMeta & { ranges: RangeInput[] }): Promise<RangesResult> {
    const ranges = validateCover(
      input.ranges.map((r, i) => ({
        lo: requireOrgId(r.lo, `ranges[${i}].lo`),
        hi: requireOrgId(r.hi, `ranges[${i}].hi`),
        clusterId: r.clusterId,
      })),
    );
    return this.change(actor, 'shard-map.set-ranges', input, async (stores) => {
      await assertClustersCanServe(
        stores,
        ranges.map((r) => r.clusterId),
      );
      return ranges;
    });
  }

  async split(actor: Actor, input: MutationMeta & { at: unknown }): Promise<RangesResult> {
    const at = requireOrgId(input.at, 'at');
    return this.change(actor, 'shard-map.split', input, async (_stores, current) => splitAt(current, at));
  }

  async assign(actor: Actor, input: RerouteMeta & { lo: unknown; hi: unknown; clusterId: string }): Promise<RangesResult> {
    const lo = requireOrgId(input.lo, 'lo');
    const hi = requireOrgId(input.hi, 'hi');
    if (input.dataOn !== undefined && input.dataOn !== input.clusterId) throw new DataOnMismatchError(input.dataOn, input.clusterId);
    return this.change(actor, 'shard-map.assign', input, async (stores, current) => {
      const next = assignSpan(current, lo, hi, input.clusterId);
      await assertClustersCanServe(stores, [input.clusterId]);
      return next;
    });
  }

  async merge(actor: Actor, input: MutationMeta & { lo: unknown; hi: unknown }): Promise<RangesResult> {
    const lo = requireOrgId(input.lo, 'lo');
    const hi = requireOrgId(input.hi, 'hi');
    return this.change(actor, 'shard-map.merge', input, async (_stores, current) => mergeSpan(current, lo, hi));
  }

  /**
   * Compute the new map from the current one (read under the version lock), store it, and
   * let the guard refuse it or update the clusters' markers before the commit (see
   * RerouteGuard.ts). Split and merge route nothing elsewhere, so the guard has nothing to do.
   */
  private async change(
    actor: Actor,
    action: AuditAction,
    meta: RerouteMeta,
    next: (stores: Stores, current: WireRange[]) => Promise<WireRange[]>,
  ): Promise<RangesResult> {
    const undo = new MarkerUndo();
    try {
      const { version, result } = await commitConfigChange(
        this.db,
        { actor, action, reason: meta.reason, expectedVersion: meta.expectedVersion },
        async (stores, current) => {
          const before = await stores.ranges.list();
          const ranges = await next(stores, before);
          await assertMovingSpansUnchanged(stores, before, ranges);
          await stores.ranges.replaceAll(ranges);
          const request = { dataOn: meta.dataOn, why: `shard-map:${current + 1}` };
          const reroutes = await guardReroutes(stores, await rangeReroutes(stores, reroutedSpans(before, ranges)), request, undo);
          return {
            result: { ranges, reroutes },
            before: { ranges: before },
            after: { ranges, ...guardAudit(request, reroutes) },
            delta: { ranges },
          };
        },
      );
      return { version, ranges: result.ranges, ...(result.reroutes.length > 0 ? { reroutes: result.reroutes } : {}) };
    } catch (err) {
      await undo.run(this.log);
      throw err;
    }
  }
}
