// Owns unleash_client_instances and unleash_client_metrics: what official Unleash SDKs
// report through /api/client/register and /api/client/metrics.
import type { Queryable } from '../../db/Database.js';
import type { UnleashToggleCounts } from './unleashTypes.js';

export interface ClientInstanceInput {
  appName: string;
  instanceId: string;
  sdkVersion: string | null;
  strategies: string[];
  started: string | null;
  intervalMs: number | null;
  environment: string | null;
  tokenId: string | null;
}

export interface ToggleReport {
  appName: string;
  instanceId: string;
  environment: string | null;
  tokenId: string | null;
  /** The SDK's bucket start; counts are kept per hour of it. */
  start: string;
  toggles: Record<string, UnleashToggleCounts>;
}

export class UnleashClientStore {
  constructor(private readonly db: Queryable) {}

  /** A repeated registration (an SDK restarting with the same instance id) replaces the first. */
  async registerInstance(instance: ClientInstanceInput): Promise<void> {
    await this.db.query(
      `INSERT INTO unleash_client_instances
         (app_name, instance_id, sdk_version, strategies, started, interval_ms, environment, token_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (app_name, instance_id) DO UPDATE SET
         sdk_version = EXCLUDED.sdk_version, strategies = EXCLUDED.strategies, started = EXCLUDED.started,
         interval_ms = EXCLUDED.interval_ms, environment = COALESCE(EXCLUDED.environment, unleash_client_instances.environment),
         token_id = EXCLUDED.token_id, last_seen = now()`,
      [
        instance.appName,
        instance.instanceId,
        instance.sdkVersion,
        instance.strategies,
        instance.started,
        instance.intervalMs,
        instance.environment,
        instance.tokenId,
      ],
    );
  }

  /** Adds the counts to the app's hour and marks the instance seen (registering it if it never did). */
  async recordMetrics(report: ToggleReport): Promise<void> {
    await this.db.query(
      `INSERT INTO unleash_client_instances (app_name, instance_id, environment, token_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (app_name, instance_id) DO UPDATE SET
         last_seen = now(), environment = COALESCE(EXCLUDED.environment, unleash_client_instances.environment)`,
      [report.appName, report.instanceId, report.environment, report.tokenId],
    );
    const toggles = Object.entries(report.toggles).map(([name, counts]) => ({
      name,
      yes: counts.yes ?? 0,
      no: counts.no ?? 0,
      variants: counts.variants ?? {},
    }));
    if (toggles.length === 0) return;
    await this.db.query(
      `INSERT INTO unleash_client_metrics (app_name, feature_name, hour, yes, no, variants)
       SELECT $1, t.name, date_trunc('hour', $2::timestamptz), t.yes, t.no, t.variants
       FROM jsonb_to_recordset($3::jsonb) AS t(name text, yes bigint, no bigint, variants jsonb)
       ON CONFLICT (app_name, feature_name, hour) DO UPDATE SET
         yes = unleash_client_metrics.yes + EXCLUDED.yes,
         no = unleash_client_metrics.no + EXCLUDED.no,
         variants = (
           SELECT COALESCE(jsonb_object_agg(name, total), '{}'::jsonb) FROM (
             SELECT name, sum(n) AS total FROM (
               SELECT key AS name, value::text::bigint AS n FROM jsonb_each(unleash_client_metrics.variants)
               UNION ALL
               SELECT key, value::text::bigint FROM jsonb_each(EXCLUDED.variants)
             ) AS both_counts GROUP BY name
           ) AS merged
         ),
         updated_at = now()`,
      [report.appName, report.start, JSON.stringify(toggles)],
    );
  }
}
