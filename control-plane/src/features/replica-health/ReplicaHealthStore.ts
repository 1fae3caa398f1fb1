// Owns replica_health (one row per replica, made on first write) and
// replica_health_settings. It reads replicas and clusters for the ids and URLs it needs:
// the health of a replica is part of the cluster aggregate's read side.
import type { ReplicaHealthState, WireReplicaHealth } from '@orgplane/runtime/wire';
import type { Queryable } from '../../db/Database.js';
import { type HealthSettings, type ProbedState, publishedState } from './replicaHealthRules.js';

export interface ReplicaHealthRecord {
  id: string;
  clusterId: string;
  /** With credentials: the health checker connects with it; never return it. */
  url: string;
  /** The cluster's primary, with credentials. */
  primaryUrl: string;
  probedState: ProbedState;
  drained: boolean;
  state: ReplicaHealthState;
  stateSince: string | null;
  lagSeconds: number | null;
  lagBytes: number | null;
  checkedAt: string | null;
  probeError: string | null;
}

export interface ProbeFigures {
  id: string;
  lagSeconds: number | null;
  lagBytes: number | null;
  checkedAt: Date;
  probeError: string | null;
}

interface Row {
  id: string;
  cluster_id: string;
  url: string;
  primary_url: string;
  probed_state: ProbedState | null;
  drained: boolean | null;
  state_since: Date | null;
  lag_seconds: number | null;
  lag_bytes: string | null;
  checked_at: Date | null;
  probe_error: string | null;
}

const SELECT = `
  SELECT r.id, r.cluster_id, r.url, c.primary_url, h.probed_state, h.drained, h.state_since,
         h.lag_seconds, h.lag_bytes, h.checked_at, h.probe_error
  FROM replicas r JOIN clusters c ON c.id = r.cluster_id LEFT JOIN replica_health h ON h.replica_id = r.id`;

function toRecord(row: Row): ReplicaHealthRecord {
  const probedState = row.probed_state ?? 'unknown';
  const drained = row.drained ?? false;
  return {
    id: row.id,
    clusterId: row.cluster_id,
    url: row.url,
    primaryUrl: row.primary_url,
    probedState,
    drained,
    state: publishedState(probedState, drained),
    stateSince: row.state_since?.toISOString() ?? null,
    lagSeconds: row.lag_seconds,
    lagBytes: row.lag_bytes === null ? null : Number(row.lag_bytes),
    checkedAt: row.checked_at?.toISOString() ?? null,
    probeError: row.probe_error,
  };
}

export function toWireReplicaHealth(record: ReplicaHealthRecord): WireReplicaHealth {
  return {
    id: record.id,
    clusterId: record.clusterId,
    state: record.state,
    lagSeconds: record.lagSeconds,
    lagBytes: record.lagBytes,
    checkedAt: record.checkedAt,
  };
}

interface SettingsRow {
  lag_warn_seconds: number;
  lag_critical_seconds: number;
  lag_critical_bytes: string;
  unreachable_after_probes: number;
  healthy_after_probes: number;
  probe_timeout_ms: number;
}

export class ReplicaHealthStore {
  constructor(private readonly db: Queryable) {}

  async list(clusterId?: string): Promise<ReplicaHealthRecord[]> {
    const { rows } =
      clusterId === undefined
        ? await this.db.query<Row>(`${SELECT} ORDER BY r.cluster_id, r.id`)
        : await this.db.query<Row>(`${SELECT} WHERE r.cluster_id = $1 ORDER BY r.id`, [clusterId]);
    return rows.map(toRecord);
  }

  async get(id: string): Promise<ReplicaHealthRecord | null> {
    const { rows } = await this.db.query<Row>(`${SELECT} WHERE r.id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Locks the replica's health row (made if missing) until the transaction ends. */
  async lock(id: string): Promise<void> {
    await this.db.query('INSERT INTO replica_health (replica_id) VALUES ($1) ON CONFLICT DO NOTHING', [id]);
    await this.db.query('SELECT 1 FROM replica_health WHERE replica_id = $1 FOR UPDATE', [id]);
  }

  async wire(): Promise<WireReplicaHealth[]> {
    return (await this.list()).map(toWireReplicaHealth);
  }

  /** The last probe of each replica: figures only, no state (not a config change). */
  async recordProbes(figures: readonly ProbeFigures[]): Promise<void> {
    if (figures.length === 0) return;
    await this.db.query(
      `INSERT INTO replica_health (replica_id, lag_seconds, lag_bytes, checked_at, probe_error)
       SELECT f.id, f.lag_seconds, f.lag_bytes, f.checked_at, f.probe_error
       FROM unnest($1::text[], $2::float8[], $3::bigint[], $4::timestamptz[], $5::text[])
            AS f (id, lag_seconds, lag_bytes, checked_at, probe_error)
       WHERE EXISTS (SELECT 1 FROM replicas r WHERE r.id = f.id)
       ON CONFLICT (replica_id) DO UPDATE SET lag_seconds = EXCLUDED.lag_seconds, lag_bytes = EXCLUDED.lag_bytes,
         checked_at = EXCLUDED.checked_at, probe_error = EXCLUDED.probe_error`,
      [
        figures.map((f) => f.id),
        figures.map((f) => f.lagSeconds),
        figures.map((f) => (f.lagBytes === null ? null : String(f.lagBytes))),
        figures.map((f) => f.checkedAt),
        figures.map((f) => f.probeError),
      ],
    );
  }

  /** The checker's verdict; the state's `since` moves only when the published state changes. */
  async setProbedState(id: string, state: ProbedState): Promise<void> {
    await this.db.query(
      `INSERT INTO replica_health (replica_id, probed_state) VALUES ($1, $2)
       ON CONFLICT (replica_id) DO UPDATE SET probed_state = EXCLUDED.probed_state,
         state_since = CASE WHEN replica_health.drained OR replica_health.probed_state = EXCLUDED.probed_state
                            THEN replica_health.state_since ELSE now() END`,
      [id, state],
    );
  }

  async setDrained(id: string, drained: boolean): Promise<void> {
    await this.db.query(
      `INSERT INTO replica_health (replica_id, drained) VALUES ($1, $2)
       ON CONFLICT (replica_id) DO UPDATE SET drained = EXCLUDED.drained, state_since = now()`,
      [id, drained],
    );
  }

  async settings(): Promise<HealthSettings> {
    const { rows } = await this.db.query<SettingsRow>('SELECT * FROM replica_health_settings');
    const row = rows[0]!;
    return {
      lagWarnSeconds: row.lag_warn_seconds,
      lagCriticalSeconds: row.lag_critical_seconds,
      lagCriticalBytes: Number(row.lag_critical_bytes),
      unreachableAfterProbes: row.unreachable_after_probes,
      healthyAfterProbes: row.healthy_after_probes,
      probeTimeoutMs: row.probe_timeout_ms,
    };
  }

  async saveSettings(settings: HealthSettings): Promise<void> {
    await this.db.query(
      `UPDATE replica_health_settings SET lag_warn_seconds = $1, lag_critical_seconds = $2, lag_critical_bytes = $3,
         unreachable_after_probes = $4, healthy_after_probes = $5, probe_timeout_ms = $6, updated_at = now()`,
      [
        settings.lagWarnSeconds,
        settings.lagCriticalSeconds,
        String(settings.lagCriticalBytes),
        settings.unreachableAfterProbes,
        settings.healthyAfterProbes,
        settings.probeTimeoutMs,
      ],
    );
  }
}
