import type { PlacementState, WirePlacement } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import {
  ClusterNotFoundError,
  DataOnMismatchError,
  PlacementMoveInFlightError,
  PlacementNotFoundError,
  PlacementOffRangeError,
  RangeMovingError,
} from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import type { MutationMeta } from '../clusters/ClusterService.js';
import { commitConfigChange } from '../config/commitConfigChange.js';
import { guardAudit, guardReroutes, MarkerUndo, type RerouteReport } from '../shard-map/RerouteGuard.js';
import { assertClustersCanServe, type RerouteMeta } from '../shard-map/ShardMapService.js';
import type { PlacementQuery } from './PlacementStore.js';

export class PlacementService {
  constructor(
    private readonly db: Database<Stores>,
    private readonly log: Logger,
  ) {}

  async list(query: PlacementQuery): Promise<{ version: number; placements: WirePlacement[] }> {
    return this.db.transaction(
      async (stores) => {
        if (query.clusterId !== undefined && (await stores.clusters.states([query.clusterId])).size === 0) {
          throw new ClusterNotFoundError(query.clusterId);
        }
        return { version: await stores.configLog.currentVersion(), placements: await stores.placements.list(query) };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  /**
   * Pin an org to a cluster; every change bumps the placement's epoch. A pin that routes the
   * org to another cluster goes through the guard (RerouteGuard.ts): refused while the org's
   * rows are on the cluster it is routed to now, unless `dataOn` says they are on the new one.
   */
  async set(
    actor: Actor,
    orgId: number,
    input: RerouteMeta & { clusterId: string; state?: PlacementState | undefined },
  ): Promise<{ version: number; placement: WirePlacement; reroutes?: RerouteReport[] }> {
    if (input.dataOn !== undefined && input.dataOn !== input.clusterId) throw new DataOnMismatchError(input.dataOn, input.clusterId);
    const undo = new MarkerUndo();
    try {
      const { version, result } = await commitConfigChange(
        this.db,
        { actor, action: 'placement.set', reason: input.reason, expectedVersion: input.expectedVersion },
        async (stores, current) => {
          await assertNoMoveInFlight(stores, orgId);
          const before = await stores.placements.get(orgId);
          if (before?.clusterId !== input.clusterId) await assertClustersCanServe(stores, [input.clusterId]);
          const routedTo = before?.clusterId ?? (await stores.ranges.containing(orgId))?.clusterId;
          const placement = await stores.placements.upsert({ orgId, clusterId: input.clusterId, state: input.state ?? 'active' });
          const request = { dataOn: input.dataOn, why: `shard-map:${current + 1}` };
          // Before the map covers the org it is routed nowhere: pinning it reroutes nothing.
          const reroutes =
            routedTo === undefined || routedTo === input.clusterId
              ? []
              : await guardReroutes(
                  stores,
                  [{ from: routedTo, to: input.clusterId, ranges: [], orgIds: [orgId], pins: [] }],
                  request,
                  undo,
                );
          return {
            result: { placement, reroutes },
            before,
            after: reroutes.length > 0 || input.dataOn !== undefined ? { ...placement, ...guardAudit(request, reroutes) } : placement,
            delta: { placements: { upsert: [placement], remove: [] } },
          };
        },
      );
      return { version, placement: result.placement, ...(result.reroutes.length > 0 ? { reroutes: result.reroutes } : {}) };
    } catch (err) {
      await undo.run(this.log);
      throw err;
    }
  }

  /**
   * Remove an org's pin so its range routes it again. Refused while a move owns the pin, and
   * when the range's cluster is not the pin's: the org's rows are where the pin points. So
   * an unpin never reroutes (the guard has nothing to check): to route a pinned org to its
   * range's cluster, move it (or, when its rows are there already, pin it there with
   * `dataOn`), then unpin.
   */
  async remove(actor: Actor, orgId: number, meta: MutationMeta = {}): Promise<{ version: number }> {
    const { version } = await commitConfigChange(
      this.db,
      { actor, action: 'placement.remove', reason: meta.reason, expectedVersion: meta.expectedVersion },
      async (stores) => {
        const pin = await stores.placements.get(orgId);
        if (!pin) throw new PlacementNotFoundError(orgId);
        await assertNoMoveInFlight(stores, orgId);
        const range = await stores.ranges.containing(orgId);
        if (range && range.clusterId !== pin.clusterId) throw new PlacementOffRangeError(orgId, pin.clusterId, range);
        const before = await stores.placements.delete(orgId);
        if (!before) throw new PlacementNotFoundError(orgId);
        return { result: null, before, after: null, delta: { placements: { upsert: [], remove: [orgId] } } };
      },
    );
    return { version };
  }
}

/**
 * A move that has not finished owns the org's pin (it fences, flips and restores it); a
 * range move that has not finished fixed the pins of its span when it was created (the
 * pinned orgs are left alone, the others move with the range).
 */
async function assertNoMoveInFlight(stores: Stores, orgId: number): Promise<void> {
  const [range] = await stores.moves.unfinishedRanges(orgId, orgId);
  if (range) throw new RangeMovingError(`org ${orgId}'s pin cannot change`, range);
  const moveId = (await stores.moves.unfinishedByOrg([orgId])).get(orgId);
  if (moveId === undefined) return;
  const move = await stores.moves.get(moveId);
  throw new PlacementMoveInFlightError(orgId, moveId, move?.state ?? 'unfinished');
}
