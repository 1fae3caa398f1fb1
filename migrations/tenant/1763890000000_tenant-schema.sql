-- Up Migration
-- Tenant tables, the same on every cluster. Every table is keyed by org_id first so an
-- org's rows are one index range, and foreign keys stay inside one org.

CREATE TABLE IF NOT EXISTS organizations (
  org_id          BIGINT PRIMARY KEY CHECK (org_id >= 0),
  name            TEXT NOT NULL,
  plan            TEXT NOT NULL DEFAULT 'standard',
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_active_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS properties (
  org_id       BIGINT NOT NULL REFERENCES organizations (org_id),
  property_id  BIGINT NOT NULL,
  name         TEXT NOT NULL,
  timezone     TEXT NOT NULL DEFAULT 'UTC',
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, property_id)
);

CREATE TABLE IF NOT EXISTS users (
  org_id      BIGINT NOT NULL REFERENCES organizations (org_id),
  user_id     BIGINT NOT NULL,
  email       TEXT NOT NULL,
  role        TEXT NOT NULL DEFAULT 'member',
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);

CREATE TABLE IF NOT EXISTS staff (
  org_id       BIGINT NOT NULL,
  staff_id     BIGINT NOT NULL,
  property_id  BIGINT NOT NULL,
  user_id      BIGINT,
  title        TEXT NOT NULL,
  PRIMARY KEY (org_id, staff_id),
  FOREIGN KEY (org_id, property_id) REFERENCES properties (org_id, property_id),
  FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, user_id)
);

CREATE TABLE IF NOT EXISTS guests (
  org_id       BIGINT NOT NULL,
  guest_id     BIGINT NOT NULL,
  property_id  BIGINT NOT NULL,
  full_name    TEXT NOT NULL,
  checked_in   DATE,
  PRIMARY KEY (org_id, guest_id),
  FOREIGN KEY (org_id, property_id) REFERENCES properties (org_id, property_id)
);

CREATE TABLE IF NOT EXISTS expenses (
  org_id        BIGINT NOT NULL,
  expense_id    BIGINT NOT NULL,
  property_id   BIGINT NOT NULL,
  amount_cents  BIGINT NOT NULL,
  category      TEXT NOT NULL,
  spent_on      DATE NOT NULL,
  PRIMARY KEY (org_id, expense_id),
  FOREIGN KEY (org_id, property_id) REFERENCES properties (org_id, property_id)
);

-- Partitioned by month; a move copies it through the parent.
CREATE TABLE IF NOT EXISTS revenues (
  org_id        BIGINT NOT NULL,
  revenue_id    BIGINT NOT NULL,
  property_id   BIGINT NOT NULL,
  amount_cents  BIGINT NOT NULL,
  booked_on     DATE NOT NULL,
  PRIMARY KEY (org_id, revenue_id, booked_on),
  FOREIGN KEY (org_id, property_id) REFERENCES properties (org_id, property_id)
) PARTITION BY RANGE (booked_on);

DO $$
DECLARE
  m DATE;
BEGIN
  FOR m IN SELECT generate_series(DATE '2025-01-01', DATE '2027-12-01', INTERVAL '1 month')::date LOOP
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS %I PARTITION OF revenues FOR VALUES FROM (%L) TO (%L)',
      'revenues_' || to_char(m, 'YYYY_MM'), m, (m + INTERVAL '1 month')::date);
  END LOOP;
END $$;
CREATE TABLE IF NOT EXISTS revenues_default PARTITION OF revenues DEFAULT;

-- Down Migration
DROP TABLE IF EXISTS revenues, expenses, guests, staff, users, properties, organizations;
