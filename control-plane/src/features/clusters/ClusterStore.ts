// Owns clusters and their replicas (one aggregate). URLs are stored with credentials;
// toWireCluster is the only way a cluster leaves the process.
import type { ClusterState, WireCluster } from '@orgplane/runtime/wire';
import { type Queryable, sqlState } from '../../db/Database.js';
import { AlreadyExistsError, ClusterNotFoundError } from '../../errors.js';
import { redactPostgresUrl } from '../../lib/postgresUrl.js';

export interface ClusterRecord {
  id: string;
  state: ClusterState;
  /** With credentials: never return it. */
  primaryUrl: string;
  replicas: { id: string; url: string }[];
}

export function toWireCluster(record: ClusterRecord): WireCluster {
  return {
    id: record.id,
    state: record.state,
    primary: { url: redactPostgresUrl(record.primaryUrl) },
    replicas: record.replicas.map((r) => ({ id: r.id, url: redactPostgresUrl(r.url) })),
  };
}

interface Row {
  id: string;
  state: ClusterState;
  primary_url: string;
  replicas: { id: string; url: string }[];
}

const SELECT_CLUSTERS = `
  SELECT c.id, c.state, c.primary_url,
         COALESCE((SELECT json_agg(json_build_object('id', r.id, 'url', r.url) ORDER BY r.id)
                   FROM replicas r WHERE r.cluster_id = c.id), '[]'::json) AS replicas
  FROM clusters c`;

function toRecord(row: Row): ClusterRecord {
  return { id: row.id, state: row.state, primaryUrl: row.primary_url, replicas: row.replicas };
}

export class ClusterStore {
  constructor(private readonly db: Queryable) {}

  async list(): Promise<ClusterRecord[]> {
    const { rows } = await this.db.query<Row>(`${SELECT_CLUSTERS} ORDER BY c.id`);
    return rows.map(toRecord);
  }

  async get(id: string): Promise<ClusterRecord | null> {
    const { rows } = await this.db.query<Row>(`${SELECT_CLUSTERS} WHERE c.id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The state of each named cluster that exists. */
  async states(ids: readonly string[]): Promise<Map<string, ClusterState>> {
    const { rows } = await this.db.query<{ id: string; state: ClusterState }>('SELECT id, state FROM clusters WHERE id = ANY($1::text[])', [
      [...new Set(ids)],
    ]);
    return new Map(rows.map((row) => [row.id, row.state]));
  }

  async insert(cluster: { id: string; primaryUrl: string; state: ClusterState }): Promise<void> {
    try {
      await this.db.query('INSERT INTO clusters (id, primary_url, state) VALUES ($1, $2, $3)', [
        cluster.id,
        cluster.primaryUrl,
        cluster.state,
      ]);
    } catch (err) {
      if (sqlState(err) === '23505') {
        throw new AlreadyExistsError(`cluster '${cluster.id}' already exists`, {
          hint: 'choose another id, or change the existing one with PATCH /v1/clusters/<id>',
          details: { clusterId: cluster.id },
        });
      }
      throw err;
    }
  }

  async setState(id: string, state: ClusterState): Promise<void> {
    await this.db.query('UPDATE clusters SET state = $2, updated_at = now() WHERE id = $1', [id, state]);
  }

  async insertReplica(clusterId: string, replica: { id: string; url: string }): Promise<void> {
    try {
      await this.db.query('INSERT INTO replicas (id, cluster_id, url) VALUES ($1, $2, $3)', [replica.id, clusterId, replica.url]);
    } catch (err) {
      const state = sqlState(err);
      if (state === '23505') {
        throw new AlreadyExistsError(`replica '${replica.id}' already exists`, {
          hint: 'replica ids are unique across clusters: choose another id',
          details: { replicaId: replica.id },
        });
      }
      if (state === '23503') throw new ClusterNotFoundError(clusterId);
      throw err;
    }
    await this.touch(clusterId);
  }

  /** False when the cluster has no such replica. */
  async deleteReplica(clusterId: string, replicaId: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM replicas WHERE cluster_id = $1 AND id = $2', [clusterId, replicaId]);
    if (rowCount) await this.touch(clusterId);
    return Boolean(rowCount);
  }

  private async touch(id: string): Promise<void> {
    await this.db.query('UPDATE clusters SET updated_at = now() WHERE id = $1', [id]);
  }
}
