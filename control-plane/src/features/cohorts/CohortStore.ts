// Owns cohorts and cohort_members (one aggregate: a named, immutable set of org ids).
import type { WireCohort } from '@orgplane/runtime/wire';
import { type Queryable, sqlState } from '../../db/Database.js';
import { AlreadyExistsError } from '../../errors.js';

/** How one stratum of the population is represented in a selected cohort. */
export interface StratumReport {
  size: string;
  activity: string;
  population: number;
  selected: number;
  populationShare: number;
  selectedShare: number;
}

export interface CohortSummary {
  name: string;
  size: number;
  seed: number;
  createdAt: string;
}

export interface CohortRecord extends CohortSummary {
  strata: StratumReport[];
}

interface Row {
  name: string;
  size: number;
  seed: string;
  strata: StratumReport[];
  created_at: Date;
}

const toSummary = (row: Row): CohortSummary => ({
  name: row.name,
  size: row.size,
  seed: Number(row.seed),
  createdAt: row.created_at.toISOString(),
});

export class CohortStore {
  constructor(private readonly db: Queryable) {}

  async list(): Promise<CohortSummary[]> {
    const { rows } = await this.db.query<Row>('SELECT name, size, seed, created_at FROM cohorts ORDER BY name');
    return rows.map(toSummary);
  }

  async get(name: string): Promise<CohortRecord | null> {
    const { rows } = await this.db.query<Row>('SELECT name, size, seed, strata, created_at FROM cohorts WHERE name = $1', [name]);
    return rows[0] ? { ...toSummary(rows[0]), strata: rows[0].strata } : null;
  }

  /** `orgIds` must hold no duplicates. */
  async insert(cohort: { name: string; seed: number; strata: StratumReport[]; orgIds: number[] }): Promise<CohortRecord> {
    let row: Row;
    try {
      const { rows } = await this.db.query<Row>(
        `INSERT INTO cohorts (name, seed, size, strata) VALUES ($1, $2, $3, $4::jsonb)
         RETURNING name, size, seed, strata, created_at`,
        [cohort.name, cohort.seed, cohort.orgIds.length, JSON.stringify(cohort.strata)],
      );
      row = rows[0]!;
    } catch (err) {
      if (sqlState(err) === '23505') {
        throw new AlreadyExistsError(`cohort '${cohort.name}' already exists`, {
          hint: 'cohorts never change once stored: choose another --name',
          details: { cohort: cohort.name },
        });
      }
      throw err;
    }
    // One statement per 50,000 ids keeps each bind message small.
    for (let i = 0; i < cohort.orgIds.length; i += 50_000) {
      await this.db.query('INSERT INTO cohort_members (cohort, org_id) SELECT $1, unnest($2::bigint[])', [
        cohort.name,
        cohort.orgIds.slice(i, i + 50_000),
      ]);
    }
    return { ...toSummary(row), strata: row.strata };
  }

  /** A page of members by org id. */
  async members(name: string, page: { afterOrgId?: number | undefined; limit: number }): Promise<number[]> {
    const { rows } = await this.db.query<{ org_id: string }>(
      `SELECT org_id FROM cohort_members WHERE cohort = $1 AND ($2::bigint IS NULL OR org_id > $2) ORDER BY org_id LIMIT $3`,
      [name, page.afterOrgId ?? null, page.limit],
    );
    return rows.map((r) => Number(r.org_id));
  }

  /** Whole cohorts as runtimes get them: members sorted ascending. */
  async wire(names: string[]): Promise<WireCohort[]> {
    if (names.length === 0) return [];
    const { rows } = await this.db.query<{ name: string; org_ids: string[] | null }>(
      `SELECT c.name, (SELECT array_agg(m.org_id ORDER BY m.org_id) FROM cohort_members m WHERE m.cohort = c.name) AS org_ids
       FROM cohorts c WHERE c.name = ANY($1::text[]) ORDER BY c.name`,
      [names],
    );
    return rows.map((r) => ({ name: r.name, orgIds: (r.org_ids ?? []).map(Number) }));
  }
}
