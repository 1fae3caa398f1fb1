-- Up Migration
-- Org moves (control-plane/src/features/moves): a batch of moves, one row per org's
-- move with its state machine and progress, the tables each move copies, and an
-- append-only event log. The executor persists after every step, so a move resumes
-- from these rows after any crash.

CREATE TABLE IF NOT EXISTS move_batches (
  id                 TEXT PRIMARY KEY,
  -- Null when the batch names its orgs (orgIds); set for a percent batch.
  from_cluster       TEXT REFERENCES clusters (id),
  to_cluster         TEXT NOT NULL REFERENCES clusters (id),
  percent            INTEGER CHECK (percent BETWEEN 0 AND 100),
  range_lo           BIGINT,
  range_hi           BIGINT,
  concurrency        INTEGER NOT NULL CHECK (concurrency BETWEEN 1 AND 32),
  fence_deadline_ms  INTEGER NOT NULL,
  grace_seconds      INTEGER NOT NULL,
  reason             TEXT,
  actor              TEXT NOT NULL,
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS moves (
  id                 TEXT PRIMARY KEY,
  -- Creation order, for listing newest first and for the executor's queue.
  seq                BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  batch_id           TEXT NOT NULL REFERENCES move_batches (id),
  org_id             BIGINT NOT NULL CHECK (org_id >= 0),
  from_cluster       TEXT NOT NULL REFERENCES clusters (id),
  to_cluster         TEXT NOT NULL REFERENCES clusters (id),
  state              TEXT NOT NULL DEFAULT 'pending' CHECK (state IN (
                       'pending', 'preparing', 'copying', 'catching_up', 'cutting_over', 'waiting',
                       'flipped', 'completing', 'completed', 'failed', 'aborting', 'aborted',
                       'rolling_back', 'rolled_back')),
  -- Where `resume` restarts a failed move.
  resume_state       TEXT,
  -- Cutover attempts so far.
  attempt            INTEGER NOT NULL DEFAULT 0,
  -- Consecutive failed tries of the current step; reset when a step succeeds.
  failures           INTEGER NOT NULL DEFAULT 0,
  error              TEXT,
  fence_deadline_ms  INTEGER NOT NULL,
  grace_seconds      INTEGER NOT NULL,
  -- The org's placement before the move (null: it was routed by its range), restored
  -- when a fence is released or the move is rolled back.
  prior_placement    JSONB,
  changes_pending    BIGINT NOT NULL DEFAULT 0,
  last_fence_ms      DOUBLE PRECISION,
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  flipped_at         TIMESTAMPTZ,
  completed_at       TIMESTAMPTZ,
  next_attempt_at    TIMESTAMPTZ,
  CHECK (from_cluster <> to_cluster)
);
-- An org has at most one unfinished move.
CREATE UNIQUE INDEX IF NOT EXISTS moves_one_unfinished_per_org ON moves (org_id)
  WHERE state NOT IN ('completed', 'aborted', 'rolled_back');
CREATE INDEX IF NOT EXISTS moves_batch_id_idx ON moves (batch_id, seq);
CREATE INDEX IF NOT EXISTS moves_unfinished_idx ON moves (seq)
  WHERE state NOT IN ('completed', 'aborted', 'rolled_back', 'failed');

CREATE TABLE IF NOT EXISTS move_tables (
  move_id          TEXT NOT NULL REFERENCES moves (id) ON DELETE CASCADE,
  table_name       TEXT NOT NULL,
  -- Copy order: parents before children.
  position         INTEGER NOT NULL,
  rows_copied      BIGINT NOT NULL DEFAULT 0,
  bytes_copied     BIGINT NOT NULL DEFAULT 0,
  source_rows      BIGINT,
  target_rows      BIGINT,
  source_checksum  TEXT,
  target_checksum  TEXT,
  -- Set once the table's copy finished; a resumed copy starts at the first table without it.
  copied_at        TIMESTAMPTZ,
  PRIMARY KEY (move_id, table_name)
);

CREATE TABLE IF NOT EXISTS move_events (
  id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  move_id  TEXT NOT NULL REFERENCES moves (id) ON DELETE CASCADE,
  at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  state    TEXT NOT NULL,
  message  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS move_events_move_id_idx ON move_events (move_id, id);

-- Down Migration
DROP TABLE IF EXISTS move_events, move_tables, moves, move_batches;
