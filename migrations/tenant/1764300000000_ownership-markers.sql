-- Up Migration
-- Ownership markers: which orgs this cluster does NOT serve, so that a service holding a
-- stale shard map gets a refusal (SQLSTATE OPF02) instead of a wrong answer, for reads
-- and zero-row writes too, long after a move's `complete` (DESIGN.md, "Routing").
--
-- An org is served here unless:
--   * its org marker (orgplane_org_moves) says 'moved'; or
--   * it has no org marker and a range marker (orgplane_range_markers) covers it.
-- So an org marker always wins over a range marker: an org pinned to this cluster
-- inside a range that left it carries an 'owned' marker. 'owned' logs nothing and
-- fences nothing: it only says "served here".
--
-- The markers are ordinary rows, so they reach the cluster's replicas by streaming
-- replication, and a read on a replica is refused once the replica has replayed past
-- the marker (before that, it serves the rows as they were, which the move had not yet
-- left).
--
-- The runtime calls orgplane_claim_org(org) in the same round trip as BEGIN (and before
-- each runtime.query); the capture trigger refuses writes the same way, for writers that
-- bypass the runtime.

ALTER TABLE orgplane_org_moves DROP CONSTRAINT IF EXISTS orgplane_org_moves_state_check;
ALTER TABLE orgplane_org_moves
  ADD CONSTRAINT orgplane_org_moves_state_check CHECK (state IN ('capturing', 'fenced', 'moved', 'owned'));
COMMENT ON COLUMN orgplane_org_moves.move_id IS
  'The move, or the shard-map change (shard-map:<version>), that set the marker';

CREATE TABLE IF NOT EXISTS orgplane_range_markers (
  lo          BIGINT PRIMARY KEY CHECK (lo >= 0),
  hi          BIGINT NOT NULL,
  -- Only 'moved' today; range moves add their own states.
  state       TEXT NOT NULL CHECK (state IN ('moved')),
  -- What set it: a range move's id, or the shard-map change (shard-map:<version>).
  reason      TEXT NOT NULL,
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (hi >= lo),
  EXCLUDE USING gist (int8range(lo, hi, '[]') WITH &&)
);

-- Whether a range marker covers the org: the markers never overlap, so only the one with
-- the greatest lo <= org can (one probe of the primary key).
CREATE OR REPLACE FUNCTION orgplane_range_marked(org BIGINT) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce((SELECT r.hi >= org FROM orgplane_range_markers r WHERE r.lo <= org ORDER BY r.lo DESC LIMIT 1), false)
$$;

-- Whether this cluster serves the org (see the file comment). It runs before every
-- transaction of the runtime, so it is one body with both probes inline: a SQL-language
-- function called from PL/pgSQL costs more than the probes themselves.
CREATE OR REPLACE FUNCTION orgplane_org_served(org BIGINT) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  st        TEXT;
  range_hi  BIGINT;
BEGIN
  SELECT m.state INTO st FROM orgplane_org_moves m WHERE m.org_id = org;
  IF FOUND THEN
    RETURN st <> 'moved';
  END IF;
  SELECT r.hi INTO range_hi FROM orgplane_range_markers r WHERE r.lo <= org ORDER BY r.lo DESC LIMIT 1;
  RETURN NOT (FOUND AND range_hi >= org);
END $$;

-- The runtime's ownership check: OPF02 when the org is not served here.
CREATE OR REPLACE FUNCTION orgplane_claim_org(org BIGINT) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
  IF NOT orgplane_org_served(org) THEN
    RAISE EXCEPTION 'org % is not served by this cluster', org
      USING ERRCODE = 'OPF02', HINT = 'refresh the shard map and send the request to the org''s cluster';
  END IF;
END $$;

-- The cluster serves the org again (a move aborted or rolled back onto it, a move into it
-- completed, a pin onto it): drop its org marker, or keep 'owned' where a range marker
-- would otherwise refuse it.
CREATE OR REPLACE FUNCTION orgplane_serve_org(org BIGINT, why TEXT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF orgplane_range_marked(org) THEN
    INSERT INTO orgplane_org_moves (org_id, state, move_id) VALUES (org, 'owned', why)
    ON CONFLICT (org_id) DO UPDATE SET state = 'owned', move_id = EXCLUDED.move_id, updated_at = now();
  ELSE
    DELETE FROM orgplane_org_moves WHERE org_id = org;
  END IF;
END $$;

-- The cluster stops serving one org (a pin elsewhere set by the control plane). A move in
-- progress keeps its own marker: the mover owns it.
CREATE OR REPLACE FUNCTION orgplane_mark_org_moved(org BIGINT, why TEXT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO orgplane_org_moves (org_id, state, move_id) VALUES (org, 'moved', why)
  ON CONFLICT (org_id) DO UPDATE SET state = 'moved', move_id = EXCLUDED.move_id, updated_at = now()
    WHERE orgplane_org_moves.state IN ('moved', 'owned');
END $$;

-- The cluster serves [lo, hi] by its ranges again: remove range markers' coverage of it,
-- trimming markers that reach past either end.
CREATE OR REPLACE FUNCTION orgplane_clear_range_markers(range_lo BIGINT, range_hi BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r orgplane_range_markers%ROWTYPE;
BEGIN
  IF range_hi < range_lo THEN
    RAISE EXCEPTION 'empty range [%, %]', range_lo, range_hi USING ERRCODE = '22023';
  END IF;
  FOR r IN
    DELETE FROM orgplane_range_markers m
     WHERE int8range(m.lo, m.hi, '[]') && int8range(range_lo, range_hi, '[]')
    RETURNING m.*
  LOOP
    IF r.lo < range_lo THEN
      INSERT INTO orgplane_range_markers (lo, hi, state, reason) VALUES (r.lo, range_lo - 1, r.state, r.reason);
    END IF;
    IF r.hi > range_hi THEN
      INSERT INTO orgplane_range_markers (lo, hi, state, reason) VALUES (range_hi + 1, r.hi, r.state, r.reason);
    END IF;
  END LOOP;
END $$;

-- The cluster stops serving [lo, hi] by its ranges. `still_served`: the orgs of the range
-- pinned to this cluster, which it keeps serving ('owned' unless a move holds a marker).
CREATE OR REPLACE FUNCTION orgplane_mark_range_moved(range_lo BIGINT, range_hi BIGINT, why TEXT, still_served BIGINT[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM orgplane_clear_range_markers(range_lo, range_hi);
  INSERT INTO orgplane_org_moves (org_id, state, move_id)
    SELECT DISTINCT o, 'owned', why FROM unnest(still_served) AS o WHERE o BETWEEN range_lo AND range_hi
  ON CONFLICT (org_id) DO NOTHING;
  INSERT INTO orgplane_range_markers (lo, hi, state, reason) VALUES (range_lo, range_hi, 'moved', why);
END $$;

-- Log one written row of a captured org, after waiting out a cutover in progress; refuse
-- it when the org is not served here. Replaces the function of the move-capture migration
-- with range markers and 'owned'.
CREATE OR REPLACE FUNCTION orgplane_capture_row(org BIGINT, tbl TEXT, pk JSONB) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  st        TEXT;
  wait_ms   INTEGER;
  saved     TEXT;
BEGIN
  SELECT m.state, m.fence_wait_ms INTO st, wait_ms FROM orgplane_org_moves m WHERE m.org_id = org;
  IF NOT FOUND THEN
    IF orgplane_range_marked(org) THEN
      RAISE EXCEPTION 'org % is not served by this cluster', org
        USING ERRCODE = 'OPF02', HINT = 'refresh the shard map and write to the org''s cluster';
    END IF;
    RETURN;
  END IF;
  IF st = 'owned' THEN
    RETURN;
  END IF;
  IF st = 'moved' THEN
    RAISE EXCEPTION 'org % has moved to another cluster', org
      USING ERRCODE = 'OPF02', HINT = 'refresh the shard map and write to the org''s new cluster';
  END IF;
  IF NOT pg_try_advisory_xact_lock_shared(orgplane_fence_key(org)) THEN
    -- A cutover holds the fence: wait for it, at most fence_wait_ms.
    saved := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', wait_ms || 'ms', true);
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(orgplane_fence_key(org));
    EXCEPTION WHEN lock_not_available THEN
      RAISE EXCEPTION 'org % is fenced for a move; gave up after % ms', org, wait_ms
        USING ERRCODE = 'OPF01', HINT = 'retry the write; the fence is released within the move''s deadline';
    END;
    PERFORM set_config('lock_timeout', saved, true);
  END IF;
  -- Read the state again now that we share the fence (see the move-capture migration).
  IF current_setting('transaction_isolation') = 'read committed' THEN
    SELECT m.state INTO st FROM orgplane_org_moves m WHERE m.org_id = org;
  ELSE
    SELECT m.state INTO st FROM orgplane_org_moves m WHERE m.org_id = org FOR SHARE;
  END IF;
  IF NOT FOUND OR st = 'owned' THEN
    RETURN;
  END IF;
  IF st = 'moved' THEN
    RAISE EXCEPTION 'org % has moved to another cluster', org
      USING ERRCODE = 'OPF02', HINT = 'refresh the shard map and write to the org''s new cluster';
  END IF;
  -- 'capturing', or 'fenced' left behind by a mover that died: the lock is free, so log.
  INSERT INTO orgplane_changes (org_id, table_name, pk) VALUES (org, tbl, pk);
END $$;

-- The row trigger, now also consulting range markers. Its fast path, while no move runs
-- and no range left this cluster, is one probe of each (almost empty) marker table.
CREATE OR REPLACE FUNCTION orgplane_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  old_org  BIGINT;
  new_org  BIGINT;
  old_pk   JSONB;
  new_pk   JSONB;
  cols     TEXT[] := TG_ARGV[1:];
BEGIN
  IF TG_OP <> 'INSERT' THEN old_org := OLD.org_id; END IF;
  IF TG_OP <> 'DELETE' THEN new_org := NEW.org_id; END IF;
  IF NOT EXISTS (SELECT 1 FROM orgplane_org_moves m WHERE m.org_id IN (old_org, new_org))
     AND NOT EXISTS (SELECT 1 FROM orgplane_range_markers) THEN
    RETURN NULL;
  END IF;
  IF old_org IS NOT NULL THEN
    SELECT jsonb_object_agg(c, to_jsonb(OLD) -> c) INTO old_pk FROM unnest(cols) AS c;
    PERFORM orgplane_capture_row(old_org, TG_ARGV[0], old_pk);
  END IF;
  IF new_org IS NOT NULL THEN
    SELECT jsonb_object_agg(c, to_jsonb(NEW) -> c) INTO new_pk FROM unnest(cols) AS c;
    IF old_pk IS DISTINCT FROM new_pk THEN
      PERFORM orgplane_capture_row(new_org, TG_ARGV[0], new_pk);
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- Down Migration
-- Not reversible in place: the trigger functions above replace those of
-- 1764000000000_move-capture.sql, and dropping the markers would let stale maps read and
-- write where orgs no longer live. Roll back by restoring that file's functions first.
DO $$ BEGIN RAISE EXCEPTION 'the ownership-markers migration cannot be undone automatically'; END $$;
