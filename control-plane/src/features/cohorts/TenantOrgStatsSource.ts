// The production population: every org on every serving cluster, read from the tenant
// DBs in parallel with COPY.
//
// Size measure: rows in `properties` + `users`. Both are keyed (org_id, ...), so the
// counts are index-only scans; the big tables (guests, expenses, revenues) hang off
// properties and grow with them, so the two are a cheap proxy for the org's size
// without reading hundreds of rows per org. Activity: organizations.last_active_at.
//
// An org whose rows sit on a cluster that does not own it by the shard map (a move in
// flight, source rows waiting for `complete`) is counted only on its owner.
import pg from 'pg';
import { ClusterUnreachableError } from '../../errors.js';
import type { ClusterRecord } from '../clusters/ClusterStore.js';
import { copyOrgStats, type OrgStatsBatch, type OrgStatsSource } from './OrgStatsSource.js';

export const TENANT_STATS_SELECT = `
  SELECT o.org_id, coalesce(p.n, 0) + coalesce(u.n, 0),
         (extract(epoch FROM o.last_active_at) * 1000)::bigint
  FROM organizations o
  LEFT JOIN (SELECT org_id, count(*) AS n FROM properties GROUP BY org_id) p USING (org_id)
  LEFT JOIN (SELECT org_id, count(*) AS n FROM users GROUP BY org_id) u USING (org_id)`;

export class TenantOrgStatsSource implements OrgStatsSource {
  constructor(
    private readonly clusters: readonly Pick<ClusterRecord, 'id' | 'primaryUrl'>[],
    private readonly ownerOf: (orgId: number) => string | null,
  ) {}

  async scan(onBatch: (batch: OrgStatsBatch) => void): Promise<void> {
    await Promise.all(this.clusters.map((cluster) => this.scanCluster(cluster, onBatch)));
  }

  private async scanCluster(cluster: Pick<ClusterRecord, 'id' | 'primaryUrl'>, onBatch: (batch: OrgStatsBatch) => void): Promise<void> {
    const client = new pg.Client({ connectionString: cluster.primaryUrl, application_name: 'orgplane-pilot-select' });
    try {
      await client.connect();
      await copyOrgStats(client, TENANT_STATS_SELECT, (batch) => {
        // Keep only the orgs this cluster owns, compacting the batch in place.
        let kept = 0;
        for (let i = 0; i < batch.length; i++) {
          if (this.ownerOf(batch.orgIds[i]!) !== cluster.id) continue;
          batch.orgIds[kept] = batch.orgIds[i]!;
          batch.sizeRows[kept] = batch.sizeRows[i]!;
          batch.lastActiveAtMs[kept] = batch.lastActiveAtMs[i]!;
          kept++;
        }
        batch.length = kept;
        if (kept > 0) onBatch(batch);
      });
    } catch (err) {
      // The driver's message names no password; the URL itself is never repeated.
      throw new ClusterUnreachableError(cluster.id, { cause: err });
    } finally {
      await client.end().catch(() => {});
    }
  }
}
