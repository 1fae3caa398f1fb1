// Owns rate_limit_policies and cors_origins: the request guards' config.
import type { RateLimitSubject, WireRateLimitPolicy } from '@orgplane/runtime/wire';
import type { Queryable } from '../../db/Database.js';

interface PolicyRow {
  tier: string | null;
  org_id: string | null;
  subject: RateLimitSubject;
  route_class: string;
  limit_count: string;
  window_seconds: number;
  burst: string;
  shadow: boolean;
}

const POLICY_COLUMNS = 'tier, org_id, subject, route_class, limit_count, window_seconds, burst, shadow';

const toPolicy = (row: PolicyRow): WireRateLimitPolicy => ({
  tier: row.tier,
  orgId: row.org_id === null ? null : Number(row.org_id),
  subject: row.subject,
  routeClass: row.route_class,
  limit: Number(row.limit_count),
  windowSeconds: row.window_seconds,
  burst: Number(row.burst),
  shadow: row.shadow,
});

/** Which policy: a tier's or an org's, for one subject and route class. */
export type PolicyKey = ({ tier: string; orgId?: undefined } | { orgId: number; tier?: undefined }) & {
  subject: RateLimitSubject;
  routeClass: string;
};

const whereKey = (key: PolicyKey): [string, unknown[]] =>
  key.tier !== undefined
    ? ['tier = $1 AND subject = $2 AND route_class = $3', [key.tier, key.subject, key.routeClass]]
    : ['org_id = $1 AND subject = $2 AND route_class = $3', [key.orgId, key.subject, key.routeClass]];

export class GuardConfigStore {
  constructor(private readonly db: Queryable) {}

  /** Tier defaults first (by tier), then org overrides (by org id). */
  async listPolicies(): Promise<WireRateLimitPolicy[]> {
    const { rows } = await this.db.query<PolicyRow>(
      `SELECT ${POLICY_COLUMNS} FROM rate_limit_policies ORDER BY org_id NULLS FIRST, tier, subject, route_class`,
    );
    return rows.map(toPolicy);
  }

  async getPolicy(key: PolicyKey): Promise<WireRateLimitPolicy | null> {
    const [where, values] = whereKey(key);
    const { rows } = await this.db.query<PolicyRow>(`SELECT ${POLICY_COLUMNS} FROM rate_limit_policies WHERE ${where}`, values);
    return rows[0] ? toPolicy(rows[0]) : null;
  }

  async upsertPolicy(policy: WireRateLimitPolicy): Promise<WireRateLimitPolicy> {
    const target =
      policy.tier !== null
        ? '(tier, subject, route_class) WHERE tier IS NOT NULL'
        : '(org_id, subject, route_class) WHERE org_id IS NOT NULL';
    const { rows } = await this.db.query<PolicyRow>(
      `INSERT INTO rate_limit_policies (tier, org_id, subject, route_class, limit_count, window_seconds, burst, shadow)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ${target} DO UPDATE SET limit_count = EXCLUDED.limit_count, window_seconds = EXCLUDED.window_seconds,
         burst = EXCLUDED.burst, shadow = EXCLUDED.shadow, updated_at = now()
       RETURNING ${POLICY_COLUMNS}`,
      [policy.tier, policy.orgId, policy.subject, policy.routeClass, policy.limit, policy.windowSeconds, policy.burst, policy.shadow],
    );
    return toPolicy(rows[0]!);
  }

  /** The deleted policy, or null when there was none. */
  async deletePolicy(key: PolicyKey): Promise<WireRateLimitPolicy | null> {
    const [where, values] = whereKey(key);
    const { rows } = await this.db.query<PolicyRow>(`DELETE FROM rate_limit_policies WHERE ${where} RETURNING ${POLICY_COLUMNS}`, values);
    return rows[0] ? toPolicy(rows[0]) : null;
  }

  /** Sorted. */
  async listOrigins(): Promise<string[]> {
    const { rows } = await this.db.query<{ origin: string }>('SELECT origin FROM cors_origins ORDER BY origin');
    return rows.map((row) => row.origin);
  }

  /** False when the origin was listed already. */
  async addOrigin(origin: string): Promise<boolean> {
    const { rowCount } = await this.db.query('INSERT INTO cors_origins (origin) VALUES ($1) ON CONFLICT DO NOTHING', [origin]);
    return rowCount === 1;
  }

  /** False when the origin was not listed. */
  async removeOrigin(origin: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM cors_origins WHERE origin = $1', [origin]);
    return rowCount === 1;
  }
}
