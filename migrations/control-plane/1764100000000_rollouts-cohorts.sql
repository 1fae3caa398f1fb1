-- Up Migration
-- Rollouts (a flag keyed by org id with a stage plan), the analyses the SLO gates
-- record against them, and cohorts (named org sets; a pilot cohort is one a rollout
-- names). Cohorts are immutable once stored, so a runtime never needs a cohort delta
-- other than the first upsert.

CREATE TABLE IF NOT EXISTS cohorts (
  name        TEXT PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
  seed        BIGINT NOT NULL,
  size        INTEGER NOT NULL CHECK (size >= 0),
  -- The pilot selection's report: [{size, activity, population, selected, populationShare, selectedShare}].
  strata      JSONB NOT NULL DEFAULT '[]',
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS cohort_members (
  cohort  TEXT NOT NULL REFERENCES cohorts (name) ON DELETE CASCADE,
  org_id  BIGINT NOT NULL CHECK (org_id >= 0),
  PRIMARY KEY (cohort, org_id)
);

CREATE TABLE IF NOT EXISTS rollouts (
  flag              TEXT PRIMARY KEY CHECK (flag ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
  description       TEXT NOT NULL DEFAULT '',
  group_id          TEXT NOT NULL CHECK (group_id ~ '^[A-Za-z0-9._:-]{1,100}$'),
  pilot_cohort      TEXT REFERENCES cohorts (name),
  mode              TEXT NOT NULL DEFAULT 'manual' CHECK (mode IN ('manual', 'automatic')),
  on_failure        TEXT NOT NULL DEFAULT 'pause' CHECK (on_failure IN ('pause', 'rollback')),
  -- {intervalSeconds, failureLimit, minSamples, noData}
  analysis          JSONB NOT NULL,
  -- [{percent, minDwellSeconds, checks: [{name, query, op, threshold}]}], percents strictly increasing
  stages            JSONB NOT NULL CHECK (jsonb_typeof(stages) = 'array' AND jsonb_array_length(stages) > 0),
  status            TEXT NOT NULL DEFAULT 'paused'
                      CHECK (status IN ('running', 'paused', 'killed', 'completed', 'rolled_back')),
  stage_index       INTEGER NOT NULL DEFAULT -1 CHECK (stage_index >= -1),
  percent           INTEGER NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
  enabled           BOOLEAN NOT NULL DEFAULT false,
  stage_started_at  TIMESTAMPTZ,
  -- When the gate worker last recorded analyses (it runs every analysis.intervalSeconds).
  last_analysis_at  TIMESTAMPTZ,
  -- The config version of the rollout's last change.
  version           BIGINT NOT NULL,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rollouts_pilot_cohort_idx ON rollouts (pilot_cohort) WHERE pilot_cohort IS NOT NULL;

CREATE TABLE IF NOT EXISTS rollout_analyses (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  flag         TEXT NOT NULL REFERENCES rollouts (flag) ON DELETE CASCADE,
  stage_index  INTEGER NOT NULL,
  check_name   TEXT NOT NULL,
  query        TEXT NOT NULL,
  value        DOUBLE PRECISION,
  threshold    DOUBLE PRECISION NOT NULL,
  op           TEXT NOT NULL CHECK (op IN ('<', '<=', '>', '>=')),
  outcome      TEXT NOT NULL CHECK (outcome IN ('pass', 'fail', 'no-data', 'error')),
  message      TEXT,
  at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rollout_analyses_flag_idx ON rollout_analyses (flag, id);

-- Down Migration
DROP TABLE IF EXISTS rollout_analyses, rollouts, cohort_members, cohorts;
