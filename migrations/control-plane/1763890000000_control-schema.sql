-- Up Migration
-- The control DB: clusters, the shard map (ranges + per-org placements), the config
-- version and its change log, the audit log and API tokens.

CREATE TABLE IF NOT EXISTS clusters (
  id          TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  -- Full connection URL including credentials; the API never returns the password.
  primary_url TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining', 'retired')),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS replicas (
  id          TEXT PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  cluster_id  TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  url         TEXT NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS replicas_cluster_id_idx ON replicas (cluster_id);

-- Inclusive org-id ranges [lo, hi]. The exclusion constraint makes overlap impossible
-- even if a bug slips past the service's validation; gaps are checked by the service.
CREATE TABLE IF NOT EXISTS shard_ranges (
  lo          BIGINT PRIMARY KEY CHECK (lo >= 0),
  hi          BIGINT NOT NULL,
  cluster_id  TEXT NOT NULL REFERENCES clusters (id),
  CHECK (lo <= hi),
  EXCLUDE USING gist (int8range(lo, hi, '[]') WITH &&)
);

CREATE TABLE IF NOT EXISTS placements (
  org_id      BIGINT PRIMARY KEY CHECK (org_id >= 0),
  cluster_id  TEXT NOT NULL REFERENCES clusters (id),
  state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'fenced', 'moved')),
  epoch       BIGINT NOT NULL DEFAULT 1,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS placements_cluster_id_idx ON placements (cluster_id);

-- One row: the config version every change bumps (compare-and-set target).
CREATE TABLE IF NOT EXISTS config_version (
  singleton   BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
  version     BIGINT NOT NULL DEFAULT 0
);
INSERT INTO config_version (singleton, version) VALUES (true, 0) ON CONFLICT DO NOTHING;

-- The delta each version applied, streamed to runtimes by /v1/config/watch.
CREATE TABLE IF NOT EXISTS config_changes (
  version     BIGINT PRIMARY KEY,
  action      TEXT NOT NULL,
  delta       JSONB NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  scope        TEXT NOT NULL CHECK (scope IN ('admin', 'operator', 'rollout', 'sdk:read')),
  -- sha256 of the secret part; the secret itself is shown once at creation.
  secret_hash  TEXT NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at   TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS audit_log (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor       TEXT NOT NULL,
  token_id    TEXT,
  action      TEXT NOT NULL,
  reason      TEXT,
  before      JSONB,
  after       JSONB,
  version     BIGINT,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_action_idx ON audit_log (action, id);
-- The shard-map history joins each config version to the audit row that made it.
CREATE INDEX IF NOT EXISTS audit_log_version_idx ON audit_log (version) WHERE version IS NOT NULL;

-- Down Migration
DROP TABLE IF EXISTS audit_log, api_tokens, config_changes, config_version, placements, shard_ranges, replicas, clusters;
