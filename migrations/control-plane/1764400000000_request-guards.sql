-- Up Migration
-- Request guards' config: rate-limit policies (a default per tier, overrides per org) and
-- the CORS allow-list. Both are config: every change bumps config_version, is streamed as
-- a delta and audited (control-plane/src/features/guards).

CREATE TABLE IF NOT EXISTS rate_limit_policies (
  id              BIGSERIAL PRIMARY KEY,
  -- Exactly one of tier (a tier's default) and org_id (one org's override).
  tier            TEXT CHECK (tier ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  org_id          BIGINT CHECK (org_id >= 0),
  subject         TEXT NOT NULL CHECK (subject IN ('org', 'user')),
  route_class     TEXT NOT NULL CHECK (route_class ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  limit_count     BIGINT NOT NULL CHECK (limit_count > 0),
  window_seconds  INTEGER NOT NULL CHECK (window_seconds > 0 AND window_seconds <= 86400),
  burst           BIGINT NOT NULL CHECK (burst > 0),
  shadow          BOOLEAN NOT NULL DEFAULT false,
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK ((tier IS NULL) <> (org_id IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS rate_limit_policies_tier_key
  ON rate_limit_policies (tier, subject, route_class) WHERE tier IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS rate_limit_policies_org_key
  ON rate_limit_policies (org_id, subject, route_class) WHERE org_id IS NOT NULL;

-- Defaults a fresh control plane starts with; `orgplane limits set|unset` changes them.
-- Tiers are the tenant table's organizations.plan values; `default` backs every tier.
INSERT INTO rate_limit_policies (tier, subject, route_class, limit_count, window_seconds, burst) VALUES
  ('default', 'org', 'all', 1200, 60, 200),
  ('default', 'user', 'all', 300, 60, 60),
  ('starter', 'org', 'all', 600, 60, 100),
  ('enterprise', 'org', 'all', 6000, 60, 1000)
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS cors_origins (
  origin      TEXT PRIMARY KEY CHECK (length(origin) BETWEEN 1 AND 269),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE IF EXISTS cors_origins;
DROP TABLE IF EXISTS rate_limit_policies;
