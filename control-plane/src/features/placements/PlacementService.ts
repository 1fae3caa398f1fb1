import type { PlacementState, WirePlacement } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { ClusterNotFoundError, PlacementMoveInFlightError, PlacementNotFoundError, PlacementOffRangeError } from '../../errors.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import type { MutationMeta } from '../clusters/ClusterService.js';
import { commitConfigChange } from '../config/commitConfigChange.js';
import { assertClustersCanServe } from '../shard-map/ShardMapService.js';
import type { PlacementQuery } from './PlacementStore.js';

export class PlacementService {
  constructor(private readonly db: Database<Stores>) {}

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

  /** Pin an org to a cluster; every change bumps the placement's epoch. */
  async set(
    actor: Actor,
    orgId: number,
    input: MutationMeta & { clusterId: string; state?: PlacementState | undefined },
  ): Promise<{ version: number; placement: WirePlacement }> {
    const { version, result } = await commitConfigChange(
      this.db,
      { actor, action: 'placement.set', reason: input.reason, expectedVersion: input.expectedVersion },
      async (stores) => {
        await assertNoMoveInFlight(stores, orgId);
        const before = await stores.placements.get(orgId);
        if (before?.clusterId !== input.clusterId) await assertClustersCanServe(stores, [input.clusterId]);
        const placement = await stores.placements.upsert({ orgId, clusterId: input.clusterId, state: input.state ?? 'active' });
        return { result: placement, before, after: placement, delta: { placements: { upsert: [placement], remove: [] } } };
      },
    );
    return { version, placement: result };
  }

  /**
   * Remove an org's pin so its range routes it again. Refused while a move owns the pin, and
   * when the range's cluster is not the pin's: the org's rows are where the pin points.
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

/** A move that has not finished owns the org's pin (it fences, flips and restores it). */
async function assertNoMoveInFlight(stores: Stores, orgId: number): Promise<void> {
  const moveId = (await stores.moves.unfinishedByOrg([orgId])).get(orgId);
  if (moveId === undefined) return;
  const move = await stores.moves.get(moveId);
  throw new PlacementMoveInFlightError(orgId, moveId, move?.state ?? 'unfinished');
}
