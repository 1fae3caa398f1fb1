// A writer workload for org-move tests: seeds an org with rows on every tenant table,
// then runs concurrent writers that insert, update and delete the org's rows on
// whichever cluster serves it now (every tenant table: writer 0 also updates the org's
// own row), and remembers every ACKNOWLEDGED write (a committed
// statement or transaction) so a test can check none was lost or duplicated.
//
//   await seedOrg(sourcePool, orgId);
//   const load = new MoveWorkload({ orgId, owner: () => currentOwnerPool, writers: 4 });
//   load.start();
//   ... move the org; flip currentOwnerPool when the placement flips ...
//   const stats = await load.stop();
//   expect(await load.check(targetPool)).toEqual([]);      // every acknowledged write is there
//   expect(await diffOrg(sourcePool, targetPool, orgId)).toEqual([]);  // same rows
//
// Writers own disjoint id ranges, so the expected final value of every row they wrote
// is known without guessing their commit order. A write refused with OPF02 (the org
// moved) asks `owner()` again and retries; one refused with OPF01 (fenced too long)
// retries as well. Anything else is an unexpected error, listed in `stats.errors`.
import type pg from 'pg';

type Pool = pg.Pool;

/** The tables writers touch and the columns they set, keyed by primary key text. */
const TABLES = ['properties', 'users', 'staff', 'guests', 'expenses', 'revenues'] as const;
type Table = (typeof TABLES)[number];

/** Seeded parent rows every writer may reference (never deleted). */
export const SEEDED_PROPERTIES = 5;
export const SEEDED_USERS = 5;

export interface SeedOptions {
  /** Rows per child table (guests, expenses, revenues, staff); default 50. */
  rows?: number;
  name?: string;
}

/** Insert the org and rows on every tenant table (revenues spread over many partitions). */
export async function seedOrg(pool: Pool, orgId: number, options: SeedOptions = {}): Promise<void> {
  const n = options.rows ?? 50;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO organizations (org_id, name) VALUES ($1, $2)`, [orgId, options.name ?? `org ${orgId}`]);
    await client.query(`INSERT INTO properties (org_id, property_id, name) SELECT $1, i, 'property ' || i FROM generate_series(1, $2) i`, [
      orgId,
      SEEDED_PROPERTIES,
    ]);
    await client.query(
      `INSERT INTO users (org_id, user_id, email) SELECT $1::bigint, i, 'user' || i || '@org' || $1::bigint || '.test' FROM generate_series(1, $2) i`,
      [orgId, SEEDED_USERS],
    );
    await client.query(
      `INSERT INTO staff (org_id, staff_id, property_id, user_id, title)
       SELECT $1, i, 1 + i % $3, CASE WHEN i % 2 = 0 THEN 1 + i % $4 END, 'title ' || i FROM generate_series(1, $2) i`,
      [orgId, n, SEEDED_PROPERTIES, SEEDED_USERS],
    );
    await client.query(
      `INSERT INTO guests (org_id, guest_id, property_id, full_name, checked_in)
       SELECT $1, i, 1 + i % $3, 'guest ' || i, DATE '2025-01-01' + i % 700 FROM generate_series(1, $2) i`,
      [orgId, n, SEEDED_PROPERTIES],
    );
    await client.query(
      `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
       SELECT $1, i, 1 + i % $3, i * 7, 'cat ' || i % 9, DATE '2025-01-01' + i % 700 FROM generate_series(1, $2) i`,
      [orgId, n, SEEDED_PROPERTIES],
    );
    await client.query(
      `INSERT INTO revenues (org_id, revenue_id, property_id, amount_cents, booked_on)
       SELECT $1, i, 1 + i % $3, i * 11, DATE '2025-01-01' + (i * 13) % 1200 FROM generate_series(1, $2) i`,
      [orgId, n, SEEDED_PROPERTIES],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

export interface WorkloadOptions {
  orgId: number;
  /** The pool of the cluster serving the org now; asked again after every OPF02. */
  owner: () => Pool | Promise<Pool>;
  /** Concurrent writers; default 4. */
  writers?: number;
  /** Pause between one writer's writes; default 2 ms. */
  pauseMs?: number;
  /** Give up a write after this many OPF01/OPF02 retries (then it is an error); default 500. */
  maxRetries?: number;
}

export interface WorkloadStats {
  /** Acknowledged writes (statements or transactions that committed). */
  acknowledged: number;
  /** Writes retried after OPF02 (the org moved) and OPF01 (fenced). */
  movedRetries: number;
  fencedRetries: number;
  /** Every other failure, as `SQLSTATE message`. */
  errors: string[];
}

/** The value a writer last saw acknowledged for a row; null = deleted. */
type Expected = Map<string, Record<string, string> | null>;

interface Op {
  /** Statements of one transaction. */
  statements: { text: string; values: unknown[] }[];
  /** Applied to the expected state once acknowledged. */
  apply(): void;
}

const ID_SPACE = 1_000_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (err: unknown) => (err as { code?: string }).code ?? '';

export class MoveWorkload {
  readonly stats: WorkloadStats = { acknowledged: 0, movedRetries: 0, fencedRetries: 0, errors: [] };
  /** table -> key text (`org:id` or `org:id:date`) -> expected columns. */
  private readonly expected = new Map<Table, Expected>(TABLES.map((t) => [t, new Map()]));
  private running = false;
  private loops: Promise<void>[] = [];
  /** Per writer: the live ids it created, per table. */
  private readonly live: Map<Table, number[]>[] = [];
  private counter = 0;
  /** The org row's plan as writer 0 last set it (only writer 0 writes it). */
  private orgPlan: string | undefined;

  constructor(private readonly options: WorkloadOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    const writers = this.options.writers ?? 4;
    for (let w = 0; w < writers; w++) {
      this.live[w] ??= new Map(TABLES.map((t) => [t, []]));
      this.loops.push(this.loop(w));
    }
  }

  async stop(): Promise<WorkloadStats> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    return this.stats;
  }

  /** Run one acknowledged-or-failed write outside the loops (for a stale writer, say). */
  async writeOnce(writer = 0): Promise<void> {
    this.live[writer] ??= new Map(TABLES.map((t) => [t, []]));
    await this.execute(this.nextOp(writer));
  }

  private async loop(writer: number): Promise<void> {
    const pause = this.options.pauseMs ?? 2;
    while (this.running) {
      await this.execute(this.nextOp(writer));
      if (pause > 0) await sleep(pause);
    }
  }

  private async execute(op: Op): Promise<void> {
    const maxRetries = this.options.maxRetries ?? 500;
    for (let attempt = 0; ; attempt++) {
      const pool = await this.options.owner();
      let client: pg.PoolClient | undefined;
      try {
        client = await pool.connect();
        if (op.statements.length === 1) {
          const s = op.statements[0] as Op['statements'][number];
          await client.query(s.text, s.values);
        } else {
          await client.query('BEGIN');
          try {
            for (const s of op.statements) await client.query(s.text, s.values);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => {});
            throw err;
          }
        }
        client.release();
        op.apply();
        this.stats.acknowledged += 1;
        return;
      } catch (err) {
        client?.release();
        const code = codeOf(err);
        if ((code === 'OPF02' || code === 'OPF01') && attempt < maxRetries) {
          if (code === 'OPF02') this.stats.movedRetries += 1;
          else this.stats.fencedRetries += 1;
          await sleep(code === 'OPF02' ? 5 : 0);
          continue;
        }
        this.stats.errors.push(`${code} ${(err as Error).message}`);
        return;
      }
    }
  }

  private nextOp(writer: number): Op {
    const { orgId } = this.options;
    const live = this.live[writer] as Map<Table, number[]>;
    const n = ++this.counter;
    const table = TABLES[Math.floor(Math.random() * TABLES.length)] as Table;
    const ids = live.get(table) as number[];
    const roll = Math.floor(Math.random() * 10);
    const expected = this.expected.get(table) as Expected;
    // Writer 0 alone updates the org's own row now and then.
    if (writer === 0 && roll === 8) {
      const plan = `plan-${n}`;
      return {
        statements: [{ text: 'UPDATE organizations SET plan = $2, last_active_at = now() WHERE org_id = $1', values: [orgId, plan] }],
        apply: () => {
          this.orgPlan = plan;
        },
      };
    }
    // Every tenth write is a transaction of two tables.
    if (roll === 9 && table !== 'properties') {
      const a = this.insertOp(writer, 'guests');
      const b = this.insertOp(writer, 'expenses');
      return {
        statements: [...a.statements, ...b.statements],
        apply: () => {
          a.apply();
          b.apply();
        },
      };
    }
    if (ids.length < 3 || roll < 5) return this.insertOp(writer, table);
    const id = ids[Math.floor(Math.random() * ids.length)] as number;
    const key = keyOf(table, orgId, id);
    if (roll < 8 || table === 'properties' || table === 'users') {
      const set = updateOf(table, n);
      const where = table === 'revenues' ? 'org_id = $1 AND revenue_id = $2' : `org_id = $1 AND ${idColumn(table)} = $2`;
      const assignments = Object.keys(set).map((c, i) => `${c} = $${i + 3}`);
      return {
        statements: [{ text: `UPDATE ${table} SET ${assignments.join(', ')} WHERE ${where}`, values: [orgId, id, ...Object.values(set)] }],
        apply: () => {
          const current = expected.get(key);
          if (current) expected.set(key, { ...current, ...set });
        },
      };
    }
    return {
      statements: [{ text: `DELETE FROM ${table} WHERE org_id = $1 AND ${idColumn(table)} = $2`, values: [orgId, id] }],
      apply: () => {
        expected.set(key, null);
        ids.splice(ids.indexOf(id), 1);
      },
    };
  }

  private insertOp(writer: number, table: Table): Op {
    const { orgId } = this.options;
    const live = this.live[writer] as Map<Table, number[]>;
    const n = ++this.counter;
    const id = (writer + 1) * ID_SPACE + n;
    const property = 1 + (n % SEEDED_PROPERTIES);
    const row = rowOf(table, n, property);
    const columns = ['org_id', idColumn(table), ...Object.keys(row)];
    const values = [orgId, id, ...Object.values(row)];
    const expected = this.expected.get(table) as Expected;
    return {
      statements: [
        { text: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, values },
      ],
      apply: () => {
        expected.set(keyOf(table, orgId, id), row);
        live.get(table)?.push(id);
      },
    };
  }

  /** What the acknowledged writes left: table -> key -> the columns written (null: deleted). */
  expectedState(): Record<string, Record<string, Record<string, string> | null>> {
    const out: Record<string, Record<string, Record<string, string> | null>> = {};
    for (const [table, rows] of this.expected) out[table] = Object.fromEntries(rows);
    if (this.orgPlan !== undefined) out.organizations = { [`organizations:${this.options.orgId}`]: { plan: this.orgPlan } };
    return out;
  }

  /** Every write acknowledged is what `pool` holds now; returns the differences (empty when all is there). */
  async check(pool: Pool): Promise<string[]> {
    const problems: string[] = [];
    const { orgId } = this.options;
    if (this.orgPlan !== undefined) {
      const { rows } = await pool.query('SELECT plan FROM organizations WHERE org_id = $1', [orgId]);
      if (rows[0]?.plan !== this.orgPlan) problems.push(`organizations ${orgId}.plan: want ${this.orgPlan}, got ${rows[0]?.plan}`);
    }
    for (const table of TABLES) {
      const expected = this.expected.get(table) as Expected;
      if (expected.size === 0) continue;
      const columns = new Set<string>();
      for (const row of expected.values()) for (const c of Object.keys(row ?? {})) columns.add(c);
      const select = [...columns].map((c) => `${c}::text AS ${c}`);
      const { rows } = await pool.query(
        `SELECT ${idColumn(table)}::text AS id${select.length ? `, ${select.join(', ')}` : ''} FROM ${table} WHERE org_id = $1 AND ${idColumn(table)} >= $2`,
        [orgId, ID_SPACE],
      );
      const actual = new Map(rows.map((r) => [keyOf(table, orgId, Number(r.id)), r as Record<string, string>]));
      for (const [key, want] of expected) {
        const got = actual.get(key);
        if (want === null) {
          if (got) problems.push(`${table} ${key}: deleted but present`);
        } else if (!got) problems.push(`${table} ${key}: acknowledged but missing`);
        else {
          for (const [c, v] of Object.entries(want)) if (got[c] !== v) problems.push(`${table} ${key}.${c}: want ${v}, got ${got[c]}`);
        }
      }
      for (const key of actual.keys()) if (!expected.has(key)) problems.push(`${table} ${key}: present but never acknowledged`);
    }
    return problems;
  }
}

function idColumn(table: Table): string {
  return {
    properties: 'property_id',
    users: 'user_id',
    staff: 'staff_id',
    guests: 'guest_id',
    expenses: 'expense_id',
    revenues: 'revenue_id',
  }[table];
}

function keyOf(table: Table, orgId: number, id: number): string {
  return `${table}:${orgId}:${id}`;
}

/** Column values as Postgres renders them in text (so `check` compares strings). */
function rowOf(table: Table, n: number, property: number): Record<string, string> {
  const day = `2025-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`;
  switch (table) {
    case 'properties':
      return { name: `p${n}` };
    case 'users':
      return { email: `u${n}@test`, role: 'member' };
    case 'staff':
      return { property_id: String(property), title: `t${n}` };
    case 'guests':
      return { property_id: String(property), full_name: `g${n}`, checked_in: day };
    case 'expenses':
      return { property_id: String(property), amount_cents: String(n), category: `c${n % 5}`, spent_on: day };
    case 'revenues':
      return { property_id: String(property), amount_cents: String(n), booked_on: day };
  }
}

function updateOf(table: Table, n: number): Record<string, string> {
  switch (table) {
    case 'properties':
      return { name: `p${n}-u` };
    case 'users':
      return { role: `r${n}` };
    case 'staff':
      return { title: `t${n}-u` };
    case 'guests':
      return { full_name: `g${n}-u` };
    case 'expenses':
      return { amount_cents: String(n * 3) };
    case 'revenues':
      return { amount_cents: String(n * 5) };
  }
}

async function tenantTables(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname NOT LIKE 'orgplane\\_%'
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
      ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

/** The org's rows of every tenant table as sorted row texts. */
export async function orgRows(pool: Pool, orgId: number): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of await tenantTables(pool)) {
    const { rows } = await pool.query<{ r: string }>(`SELECT t::text AS r FROM ${name} t WHERE org_id = $1 ORDER BY 1`, [orgId]);
    out[name] = rows.map((r) => r.r);
  }
  return out;
}

/** Differences between the org's rows on two clusters (empty when equal). */
export async function diffOrg(a: Pool, b: Pool, orgId: number): Promise<string[]> {
  const [left, right] = [await orgRows(a, orgId), await orgRows(b, orgId)];
  const problems: string[] = [];
  for (const table of new Set([...Object.keys(left), ...Object.keys(right)])) {
    const l = new Set(left[table] ?? []);
    const r = new Set(right[table] ?? []);
    for (const row of l) if (!r.has(row)) problems.push(`${table}: only on the first: ${row}`);
    for (const row of r) if (!l.has(row)) problems.push(`${table}: only on the second: ${row}`);
  }
  return problems;
}

/** Row counts of the org per tenant table. */
export async function orgCounts(pool: Pool, orgId: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of await tenantTables(pool)) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name} WHERE org_id = $1`, [orgId]);
    out[name] = rows[0]?.n ?? 0;
  }
  return out;
}
