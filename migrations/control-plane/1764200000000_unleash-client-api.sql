-- Up Migration
-- The Unleash client API: raw Unleash features imported by an admin (served after the
-- rollouts), and what official Unleash SDKs report about themselves (register, metrics).

-- One row: the imported payload, replaced wholesale by every import. `revision` goes
-- into the ETag of /api/client/features, so SDKs refetch after an import.
CREATE TABLE IF NOT EXISTS unleash_import (
  singleton    BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
  revision     BIGINT NOT NULL DEFAULT 0,
  features     JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(features) = 'array'),
  segments     JSONB NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(segments) = 'array'),
  imported_at  TIMESTAMPTZ
);
INSERT INTO unleash_import (singleton) VALUES (true) ON CONFLICT DO NOTHING;

-- POST /api/client/register, one row per SDK instance; metrics refresh last_seen.
CREATE TABLE IF NOT EXISTS unleash_client_instances (
  app_name     TEXT NOT NULL,
  instance_id  TEXT NOT NULL,
  sdk_version  TEXT,
  strategies   TEXT[] NOT NULL DEFAULT '{}',
  started      TIMESTAMPTZ,
  interval_ms  BIGINT,
  environment  TEXT,
  token_id     TEXT,
  first_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_seen    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (app_name, instance_id)
);

-- POST /api/client/metrics: yes/no counts per app, feature and hour (the SDK's bucket
-- start), summed over instances and reports.
CREATE TABLE IF NOT EXISTS unleash_client_metrics (
  app_name      TEXT NOT NULL,
  feature_name  TEXT NOT NULL,
  hour          TIMESTAMPTZ NOT NULL,
  yes           BIGINT NOT NULL DEFAULT 0 CHECK (yes >= 0),
  no            BIGINT NOT NULL DEFAULT 0 CHECK (no >= 0),
  variants      JSONB NOT NULL DEFAULT '{}'::jsonb,
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (app_name, feature_name, hour)
);

-- Down Migration
DROP TABLE IF EXISTS unleash_client_metrics, unleash_client_instances, unleash_import;
