// Where one org lives: its placement (if pinned) over its range, at one version. A
// read model because it joins placements, shard_ranges and config_version.
import { ownerOf } from '@orgplane/runtime/rules';
import type { PlacementState, WirePlacement, WireRange } from '@orgplane/runtime/wire';
import type { Queryable } from '../../db/Database.js';
import { RangeNotFoundError } from '../../errors.js';

export interface OrgLocation {
  orgId: number;
  clusterId: string;
  source: 'placement' | 'range';
  range: WireRange | null;
  placement: WirePlacement | null;
  version: number;
}

interface Row {
  version: string;
  lo: string | null;
  hi: string | null;
  range_cluster_id: string | null;
  placement_cluster_id: string | null;
  state: PlacementState | null;
  epoch: string | null;
}

export class OrgLocationReadModel {
  constructor(private readonly db: Queryable) {}

  async locate(orgId: number): Promise<OrgLocation> {
    const { rows } = await this.db.query<Row>(
      `SELECT v.version, r.lo, r.hi, r.cluster_id AS range_cluster_id,
              p.cluster_id AS placement_cluster_id, p.state, p.epoch
       FROM config_version v
       LEFT JOIN LATERAL (
         SELECT lo, hi, cluster_id FROM shard_ranges WHERE lo <= $1 ORDER BY lo DESC LIMIT 1
       ) r ON r.hi >= $1
       LEFT JOIN placements p ON p.org_id = $1`,
      [orgId],
    );
    const row = rows[0]!;
    const range =
      row.lo !== null && row.hi !== null && row.range_cluster_id !== null
        ? { lo: Number(row.lo), hi: Number(row.hi), clusterId: row.range_cluster_id }
        : null;
    const placement =
      row.placement_cluster_id !== null && row.state !== null && row.epoch !== null
        ? { orgId, clusterId: row.placement_cluster_id, state: row.state, epoch: Number(row.epoch) }
        : null;
    const version = Number(row.version);
    const clusterId = ownerOf(placement, range);
    if (clusterId !== null) return { orgId, clusterId, source: placement ? 'placement' : 'range', range, placement, version };
    throw new RangeNotFoundError(`no range holds org ${orgId}`, {
      hint: 'the shard map is empty: set it with PUT /v1/shard-map/ranges',
      details: { orgId },
    });
  }
}
