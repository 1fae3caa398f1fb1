-- Up Migration
-- Online org moves (control-plane/src/features/moves) need three things on every cluster:
--
-- * orgplane_org_moves: one row per org that is being moved to or from this cluster,
--   or that has moved away from it.
--     'capturing'  writes go ahead; the key of every row written is logged;
--     'fenced'     a cutover is in progress: writers wait for the mover's advisory lock;
--     'moved'      the org lives on another cluster now: writes fail with SQLSTATE OPF02.
-- * orgplane_changes: the primary key of each row written while its org is captured.
-- * orgplane_capture(): the row trigger on every tenant table that does both.
--
-- The mover's own sessions set session_replication_role = replica, so ordinary
-- triggers (this one, and foreign-key checks) do not fire for its copy and replay.
-- Writers take a shared advisory lock on the org's fence key while the org has a row
-- here; the mover fences by taking it exclusively, which waits for writes in flight to
-- commit and queues new ones behind it (Postgres grants no shared lock past a waiter).

CREATE TABLE IF NOT EXISTS orgplane_org_moves (
  org_id         BIGINT PRIMARY KEY,
  state          TEXT NOT NULL CHECK (state IN ('capturing', 'fenced', 'moved')),
  move_id        TEXT NOT NULL,
  -- How long a writer waits for a cutover before it gives up with OPF01.
  fence_wait_ms  INTEGER NOT NULL DEFAULT 2000 CHECK (fence_wait_ms > 0),
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orgplane_changes (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org_id      BIGINT NOT NULL,
  -- The table as the mover copies it: a partitioned table's parent, never a partition.
  table_name  TEXT NOT NULL,
  -- The written row's primary-key columns, e.g. {"org_id": 7, "user_id": 3}.
  pk          JSONB NOT NULL,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orgplane_changes_org_id_idx ON orgplane_changes (org_id, id);

-- The advisory-lock key of an org's fence. XOR with a constant tag is a bijection on
-- org ids, so two orgs never share a key, and the tag keeps the keys away from small
-- integers that applications tend to lock.
CREATE OR REPLACE FUNCTION orgplane_fence_key(org BIGINT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT org # (x'6f70'::bigint << 48) $$;

-- Log one written row of a captured org, after waiting out a cutover in progress.
CREATE OR REPLACE FUNCTION orgplane_capture_row(org BIGINT, tbl TEXT, pk JSONB) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  st        TEXT;
  wait_ms   INTEGER;
  saved     TEXT;
BEGIN
  SELECT m.state, m.fence_wait_ms INTO st, wait_ms FROM orgplane_org_moves m WHERE m.org_id = org;
  IF NOT FOUND THEN
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
  -- Read the state again now that we share the fence, whether we waited or not: a whole
  -- cutover can run between the first read and the lock, and a write that trusted the
  -- first read would land on the source after the flip and be lost. Under READ
  -- COMMITTED this statement's snapshot is newer than the lock, so it sees 'moved'.
  -- Under REPEATABLE READ the transaction's snapshot may predate the cutover; FOR SHARE
  -- then fails with a serialization error instead of returning the stale state.
  IF current_setting('transaction_isolation') = 'read committed' THEN
    SELECT m.state INTO st FROM orgplane_org_moves m WHERE m.org_id = org;
  ELSE
    SELECT m.state INTO st FROM orgplane_org_moves m WHERE m.org_id = org FOR SHARE;
  END IF;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF st = 'moved' THEN
    RAISE EXCEPTION 'org % has moved to another cluster', org
      USING ERRCODE = 'OPF02', HINT = 'refresh the shard map and write to the org''s new cluster';
  END IF;
  -- 'capturing', or 'fenced' left behind by a mover that died: the lock is free, so log.
  INSERT INTO orgplane_changes (org_id, table_name, pk) VALUES (org, tbl, pk);
END $$;

-- Trigger arguments: the table name to log, then its primary-key columns.
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
  -- The fast path of every write while no move is running: one index probe on an
  -- almost empty table.
  IF NOT EXISTS (SELECT 1 FROM orgplane_org_moves m WHERE m.org_id IN (old_org, new_org)) THEN
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

-- Attach the capture trigger to one tenant table (a partitioned table's parent covers
-- its partitions). Later tenant migrations call this for every table they add.
CREATE OR REPLACE FUNCTION orgplane_install_capture(tbl REGCLASS) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  cols  TEXT;
  name  TEXT := (SELECT c.relname FROM pg_class c WHERE c.oid = tbl);
BEGIN
  SELECT string_agg(quote_literal(a.attname), ', ' ORDER BY array_position(i.indkey::int2[], a.attnum))
    INTO cols
    FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
   WHERE i.indrelid = tbl AND i.indisprimary;
  IF cols IS NULL THEN
    RAISE EXCEPTION 'tenant table % has no primary key', name;
  END IF;
  EXECUTE format(
    'CREATE OR REPLACE TRIGGER orgplane_capture AFTER INSERT OR UPDATE OR DELETE ON %s '
    'FOR EACH ROW EXECUTE FUNCTION orgplane_capture(%L, %s)', tbl, name, cols);
END $$;

SELECT orgplane_install_capture(c.oid)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema()
   AND c.relkind IN ('r', 'p')
   AND NOT c.relispartition
   AND c.relname NOT LIKE 'orgplane\_%'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped);

-- Down Migration
DO $$
DECLARE
  t REGCLASS;
BEGIN
  FOR t IN SELECT tgrelid::regclass FROM pg_trigger WHERE tgname = 'orgplane_capture' AND tgparentid = 0 LOOP
    EXECUTE format('DROP TRIGGER orgplane_capture ON %s', t);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS orgplane_install_capture(REGCLASS);
DROP FUNCTION IF EXISTS orgplane_capture();
DROP FUNCTION IF EXISTS orgplane_capture_row(BIGINT, TEXT, JSONB);
DROP FUNCTION IF EXISTS orgplane_fence_key(BIGINT);
DROP TABLE IF EXISTS orgplane_changes, orgplane_org_moves;
