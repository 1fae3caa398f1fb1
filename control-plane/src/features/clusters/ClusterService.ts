import type { ClusterState, WireCluster } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { ClusterNotFoundError, ConflictError, InvalidInputError, NotFoundError } from '../../errors.js';
import { parsePostgresUrl } from '../../lib/postgresUrl.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import { type AppliedChange, commitConfigChange } from '../config/commitConfigChange.js';
import { type ClusterRecord, toWireCluster } from './ClusterStore.js';

export interface MutationMeta {
  reason?: string | undefined;
  expectedVersion?: number | undefined;
}

export interface CreateClusterInput extends MutationMeta {
  id: string;
  primary: { url: string };
  replicas?: { id: string; url: string }[] | undefined;
  state?: ClusterState | undefined;
}

export interface ClusterDetail extends WireCluster {
  rangeCount: number;
  placementCount: number;
}

export class ClusterService {
  constructor(private readonly db: Database<Stores>) {}

  async list(): Promise<{ version: number; clusters: WireCluster[] }> {
    return this.db.transaction(
      async (stores) => ({
        version: await stores.configLog.currentVersion(),
        clusters: (await stores.clusters.list()).map(toWireCluster),
      }),
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  async get(id: string): Promise<ClusterDetail> {
    return this.db.transaction(
      async (stores) => {
        const cluster = await stores.clusters.get(id);
        if (!cluster) throw new ClusterNotFoundError(id);
        return {
          ...toWireCluster(cluster),
          rangeCount: await stores.ranges.countByCluster(id),
          placementCount: await stores.placements.countByCluster(id),
        };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  async create(actor: Actor, input: CreateClusterInput): Promise<{ version: number; cluster: WireCluster }> {
    const primaryUrl = parsePostgresUrl(input.primary.url, 'primary.url');
    const replicas = (input.replicas ?? []).map((r, i) => ({ id: r.id, url: parsePostgresUrl(r.url, `replicas[${i}].url`) }));
    const seen = new Set<string>();
    for (const [i, r] of replicas.entries()) {
      if (seen.has(r.id)) {
        throw new InvalidInputError(`replica id '${r.id}' appears twice`, {
          details: [{ field: `replicas[${i}].id`, message: 'is a duplicate' }],
        });
      }
      seen.add(r.id);
    }
    return this.change(actor, 'cluster.create', input, async (stores) => {
      await stores.clusters.insert({ id: input.id, primaryUrl, state: input.state ?? 'active' });
      for (const replica of replicas) await stores.clusters.insertReplica(input.id, replica);
      return { id: input.id, before: null };
    });
  }

  async update(
    actor: Actor,
    id: string,
    input: MutationMeta & { state: ClusterState },
  ): Promise<{ version: number; cluster: WireCluster }> {
    return this.change(actor, 'cluster.update', input, async (stores) => {
      const before = await this.require(stores, id);
      if (input.state === 'retired' && before.state !== 'retired') {
        const ranges = await stores.ranges.countByCluster(id);
        const placements = await stores.placements.countByCluster(id);
        if (ranges > 0 || placements > 0) {
          throw new ConflictError(`cluster '${id}' still serves ${ranges} range(s) and ${placements} placement(s)`, {
            // Assigning its ranges elsewhere would route orgs away from their rows (the
            // guard refuses it): the rows move first, then the emptied ranges follow.
            hint: `set it to draining (it takes no new orgs), move its orgs to another cluster (orgplane orgs move --from ${id} --to <cluster> --percent 100, POST /v1/moves), then assign its ranges, which no longer hold rows there (orgplane shards assign --range <lo>-<hi> --to <cluster>)`,
            details: { clusterId: id, rangeCount: ranges, placementCount: placements },
          });
        }
      }
      await stores.clusters.setState(id, input.state);
      return { id, before };
    });
  }

  async addReplica(actor: Actor, clusterId: string, input: MutationMeta & { id: string; url: string }) {
    const url = parsePostgresUrl(input.url, 'url');
    return this.change(actor, 'replica.add', input, async (stores) => {
      const before = await this.require(stores, clusterId);
      await stores.clusters.insertReplica(clusterId, { id: input.id, url });
      return { id: clusterId, before };
    });
  }

  async removeReplica(actor: Actor, clusterId: string, replicaId: string, meta: MutationMeta = {}) {
    return this.change(actor, 'replica.remove', meta, async (stores) => {
      const before = await this.require(stores, clusterId);
      if (!(await stores.clusters.deleteReplica(clusterId, replicaId))) {
        throw new NotFoundError(`cluster '${clusterId}' has no replica '${replicaId}'`, {
          hint: `list its replicas with GET /v1/clusters/${clusterId}`,
          details: { clusterId, replicaId },
        });
      }
      return { id: clusterId, before };
    });
  }

  private async require(stores: Stores, id: string): Promise<ClusterRecord> {
    const cluster = await stores.clusters.get(id);
    if (!cluster) throw new ClusterNotFoundError(id);
    return cluster;
  }

  /** Every cluster change: apply, then publish the complete cluster list as the delta. */
  private async change(
    actor: Actor,
    action: 'cluster.create' | 'cluster.update' | 'replica.add' | 'replica.remove',
    meta: MutationMeta,
    apply: (stores: Stores) => Promise<{ id: string; before: ClusterRecord | null }>,
  ): Promise<{ version: number; cluster: WireCluster }> {
    const { version, result } = await commitConfigChange(
      this.db,
      { actor, action, reason: meta.reason, expectedVersion: meta.expectedVersion },
      async (stores): Promise<AppliedChange<WireCluster>> => {
        const { id, before } = await apply(stores);
        const clusters = (await stores.clusters.list()).map(toWireCluster);
        const after = clusters.find((c) => c.id === id)!;
        // Replicas added or removed: the health list changes with the cluster list.
        const replicas = await stores.replicaHealth.wire();
        return { result: after, before: before && toWireCluster(before), after, delta: { clusters, replicas } };
      },
    );
    return { version, cluster: result };
  }
}
