-- Up Migration
-- Range moves (issue 13): a move whose unit is a shard-map span [range_lo, range_hi]
-- instead of one org. It is a row of `moves` like an org move (same states, same
-- executor, same actions); exactly one of org_id and the range is set.

ALTER TABLE moves ALTER COLUMN org_id DROP NOT NULL;
ALTER TABLE moves
  ADD COLUMN IF NOT EXISTS range_lo BIGINT,
  ADD COLUMN IF NOT EXISTS range_hi BIGINT,
  -- Orgs of the span that have a pin (to any cluster) when the move was created: they
  -- are left alone (not copied; the source keeps serving those pinned to it).
  ADD COLUMN IF NOT EXISTS pinned_org_ids BIGINT[] NOT NULL DEFAULT '{}',
  -- Parallel COPY streams of the bulk copy.
  ADD COLUMN IF NOT EXISTS copy_streams INTEGER NOT NULL DEFAULT 1 CHECK (copy_streams BETWEEN 1 AND 16),
  -- Where the bulk copy reads: a healthy replica past the capture's start, or the primary.
  ADD COLUMN IF NOT EXISTS read_from TEXT NOT NULL DEFAULT 'primary' CHECK (read_from IN ('replica', 'primary'));
ALTER TABLE moves ADD CONSTRAINT moves_org_or_range CHECK (
  (org_id IS NOT NULL AND range_lo IS NULL AND range_hi IS NULL)
  OR (org_id IS NULL AND range_lo IS NOT NULL AND range_hi IS NOT NULL AND range_lo >= 0 AND range_hi >= range_lo));
-- Unfinished range moves never overlap (the service checks first for a named error; this
-- settles two creations racing).
ALTER TABLE moves ADD CONSTRAINT moves_one_unfinished_per_span
  EXCLUDE USING gist (int8range(range_lo, range_hi, '[]') WITH &&)
  WHERE (range_lo IS NOT NULL AND state NOT IN ('completed', 'aborted', 'rolled_back'));

-- Rows of the table in the span, counted on the source when a range move prepares: the
-- denominator of its progress and time left.
ALTER TABLE move_tables ADD COLUMN IF NOT EXISTS estimated_rows BIGINT;

-- Down Migration
ALTER TABLE move_tables DROP COLUMN IF EXISTS estimated_rows;
DELETE FROM moves WHERE org_id IS NULL;
ALTER TABLE moves DROP CONSTRAINT IF EXISTS moves_one_unfinished_per_span;
ALTER TABLE moves DROP CONSTRAINT IF EXISTS moves_org_or_range;
ALTER TABLE moves DROP COLUMN IF EXISTS range_lo, DROP COLUMN IF EXISTS range_hi, DROP COLUMN IF EXISTS pinned_org_ids,
  DROP COLUMN IF EXISTS copy_streams, DROP COLUMN IF EXISTS read_from;
ALTER TABLE moves ALTER COLUMN org_id SET NOT NULL;
