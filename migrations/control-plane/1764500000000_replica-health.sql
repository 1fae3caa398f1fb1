-- Up Migration
-- Replica health: what the health checker last saw of each replica, the state it
-- published (a state change is a config change; the figures are not), the operator's
-- drain, and the thresholds the checker judges by.

CREATE TABLE IF NOT EXISTS replica_health (
  replica_id    TEXT PRIMARY KEY REFERENCES replicas (id) ON DELETE CASCADE,
  -- What the probes say, with hysteresis applied (the checker's state).
  probed_state  TEXT NOT NULL DEFAULT 'unknown'
                CHECK (probed_state IN ('unknown', 'healthy', 'lagging', 'unhealthy', 'unreachable')),
  -- Set by an operator: out of rotation whatever the probes say (state 'draining').
  drained       BOOLEAN NOT NULL DEFAULT false,
  -- When the published state (drained ? 'draining' : probed_state) last changed.
  state_since   TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- The last probe: lag in seconds and bytes (null when it could not be measured).
  lag_seconds   DOUBLE PRECISION,
  lag_bytes     BIGINT,
  checked_at    TIMESTAMPTZ,
  -- Why the last probe failed (never a secret: no URL or password), null when it did not.
  probe_error   TEXT
);

CREATE TABLE IF NOT EXISTS replica_health_settings (
  singleton                 BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
  lag_warn_seconds          DOUBLE PRECISION NOT NULL DEFAULT 5 CHECK (lag_warn_seconds > 0),
  lag_critical_seconds      DOUBLE PRECISION NOT NULL DEFAULT 10,
  lag_critical_bytes        BIGINT NOT NULL DEFAULT 67108864 CHECK (lag_critical_bytes > 0),
  unreachable_after_probes  INTEGER NOT NULL DEFAULT 3 CHECK (unreachable_after_probes >= 1),
  healthy_after_probes      INTEGER NOT NULL DEFAULT 3 CHECK (healthy_after_probes >= 1),
  probe_timeout_ms          INTEGER NOT NULL DEFAULT 1000 CHECK (probe_timeout_ms BETWEEN 50 AND 60000),
  updated_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (lag_warn_seconds < lag_critical_seconds)
);
INSERT INTO replica_health_settings (singleton) VALUES (true) ON CONFLICT DO NOTHING;

-- Down Migration
DROP TABLE IF EXISTS replica_health_settings, replica_health;
