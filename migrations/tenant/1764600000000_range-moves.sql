-- Up Migration
-- Range moves (control-plane/src/features/moves, issue 13): every org of a shard-map span
-- [lo, hi] moves at once, with one capture, one fence and one flip for the span. The
-- span's state lives in its range marker, as an org move's lives in its org marker:
--   'capturing'  writes go ahead; the key of every row written is logged (orgplane_changes,
--                under the row's own org id);
--   'fenced'     a cutover is in progress: writers wait for the range's advisory lock;
--   'moved'      the span lives on another cluster: reads and writes fail with OPF02.
-- An org marker still wins over a range marker: an org of the span with one ('owned' for an
-- org pinned to this cluster, 'moved' for one pinned elsewhere) is not part of the range
-- move, is not captured and is not fenced by it.
--
-- A marker that changes state is UPDATEd in place, never deleted and inserted again: a
-- REPEATABLE READ writer re-reads it FOR SHARE after the fence, and must then fail with a
-- serialization error rather than miss a row inserted after its snapshot.

ALTER TABLE orgplane_range_markers DROP CONSTRAINT IF EXISTS orgplane_range_markers_state_check;
ALTER TABLE orgplane_range_markers
  ADD CONSTRAINT orgplane_range_markers_state_check CHECK (state IN ('capturing', 'fenced', 'moved'));
-- How long a writer waits for the span's cutover before it gives up with OPF01.
ALTER TABLE orgplane_range_markers ADD COLUMN IF NOT EXISTS fence_wait_ms INTEGER NOT NULL DEFAULT 2000 CHECK (fence_wait_ms > 0);

-- The advisory-lock key of a span's fence, by its lo (markers never overlap). Negative,
-- so never an org's key (orgplane_fence_key is positive for every org id), and a bijection
-- on lo, so two spans never share one.
CREATE OR REPLACE FUNCTION orgplane_range_fence_key(range_lo BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT -1 - (range_lo # (x'6f72'::bigint << 48)) $$;

-- Whether a 'moved' range marker covers the org (capturing and fenced spans are served).
CREATE OR REPLACE FUNCTION orgplane_range_marked(org BIGINT) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce((SELECT r.hi >= org AND r.state = 'moved' FROM orgplane_range_markers r
                    WHERE r.lo <= org ORDER BY r.lo DESC LIMIT 1), false)
$$;

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
  SELECT r.hi, r.state INTO range_hi, st FROM orgplane_range_markers r WHERE r.lo <= org ORDER BY r.lo DESC LIMIT 1;
  RETURN NOT (FOUND AND range_hi >= org AND st = 'moved');
END $$;

-- Set the span's marker: its state changes in place when the span already has exactly this
-- marker; otherwise markers overlapping it are trimmed and it is added. `still_served`:
-- orgs of the span this cluster serves whatever the marker says (pinned here): they get an
-- 'owned' org marker unless they have one.
CREATE OR REPLACE FUNCTION orgplane_set_range_marker(
  range_lo BIGINT, range_hi BIGINT, new_state TEXT, why TEXT, wait_ms INTEGER, still_served BIGINT[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO orgplane_org_moves (org_id, state, move_id)
    SELECT DISTINCT o, 'owned', why FROM unnest(still_served) AS o WHERE o BETWEEN range_lo AND range_hi
  ON CONFLICT (org_id) DO NOTHING;
  UPDATE orgplane_range_markers SET state = new_state, reason = why, fence_wait_ms = wait_ms, updated_at = now()
   WHERE lo = range_lo AND hi = range_hi;
  IF NOT FOUND THEN
    PERFORM orgplane_clear_range_markers(range_lo, range_hi);
    INSERT INTO orgplane_range_markers (lo, hi, state, reason, fence_wait_ms) VALUES (range_lo, range_hi, new_state, why, wait_ms);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION orgplane_mark_range_moved(range_lo BIGINT, range_hi BIGINT, why TEXT, still_served BIGINT[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM orgplane_set_range_marker(range_lo, range_hi, 'moved', why, 2000, still_served);
END $$;

-- Log one written row of a captured org (an org move's, or a range move's), after waiting
-- out a cutover in progress; refuse it when the org is not served here.
CREATE OR REPLACE FUNCTION orgplane_capture_row(org BIGINT, tbl TEXT, pk JSONB) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  st        TEXT;
  wait_ms   INTEGER;
  saved     TEXT;
  span_lo   BIGINT;
  span_hi   BIGINT;
  fence     BIGINT;
BEGIN
  SELECT m.state, m.fence_wait_ms INTO st, wait_ms FROM orgplane_org_moves m WHERE m.org_id = org;
  IF FOUND THEN
    IF st = 'owned' THEN
      RETURN;
    END IF;
    fence := orgplane_fence_key(org);
  ELSE
    SELECT r.lo, r.hi, r.state, r.fence_wait_ms INTO span_lo, span_hi, st, wait_ms
      FROM orgplane_range_markers r WHERE r.lo <= org ORDER BY r.lo DESC LIMIT 1;
    IF NOT FOUND OR span_hi < org THEN
      RETURN;
    END IF;
    fence := orgplane_range_fence_key(span_lo);
  END IF;
  IF st = 'moved' THEN
    RAISE EXCEPTION 'org % is not served by this cluster', org
      USING ERRCODE = 'OPF02', HINT = 'refresh the shard map and write to the org''s cluster';
  END IF;
  IF NOT pg_try_advisory_xact_lock_shared(fence) THEN
    -- A cutover holds the fence: wait for it, at most fence_wait_ms.
    saved := current_setting('lock_timeout');
    PERFORM set_config('lock_timeout', wait_ms || 'ms', true);
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(fence);
    EXCEPTION WHEN lock_not_available THEN
      RAISE EXCEPTION 'org % is fenced for a move; gave up after % ms', org, wait_ms
        USING ERRCODE = 'OPF01', HINT = 'retry the write; the fence is released within the move''s deadline';
    END;
    PERFORM set_config('lock_timeout', saved, true);
  END IF;
  -- Read the state again now that we share the fence (see the move-capture migration):
  -- READ COMMITTED sees the newest state; REPEATABLE READ reads it FOR SHARE, which fails
  -- with a serialization error if a cutover changed it after the snapshot.
  IF span_lo IS NULL THEN
    IF current_setting('transaction_isolation') = 'read committed' THEN
      SELECT m.state INTO st FROM orgplane_org_moves m WHERE m.org_id = org;
    ELSE
      SELECT m.state INTO st FROM orgplane_org_moves m WHERE m.org_id = org FOR SHARE;
    END IF;
  ELSE
    IF current_setting('transaction_isolation') = 'read committed' THEN
      SELECT r.state INTO st FROM orgplane_range_markers r WHERE r.lo = span_lo AND r.hi >= org;
    ELSE
      SELECT r.state INTO st FROM orgplane_range_markers r WHERE r.lo = span_lo AND r.hi >= org FOR SHARE;
    END IF;
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

-- Down Migration
-- Not reversible in place, like the ownership markers it extends: a cluster in the middle of
-- a range move would lose its capture. Finish or abort every range move, then restore the
-- functions of 1764300000000_ownership-markers.sql.
DO $$ BEGIN RAISE EXCEPTION 'the range-moves migration cannot be undone automatically'; END $$;
