// Owns rollout_analyses: every check evaluation the SLO gates record.
import type { Queryable } from '../../db/Database.js';
import type { AnalysisInput, AnalysisOutcome, CheckOp, RolloutAnalysis } from './Rollout.js';

interface Row {
  id: string;
  stage_index: number;
  check_name: string;
  query: string;
  value: number | null;
  threshold: number;
  op: CheckOp;
  outcome: AnalysisOutcome;
  message: string | null;
  at: Date;
}

const toAnalysis = (row: Row): RolloutAnalysis => ({
  id: Number(row.id),
  stageIndex: row.stage_index,
  check: row.check_name,
  query: row.query,
  value: row.value,
  threshold: row.threshold,
  op: row.op,
  outcome: row.outcome,
  ...(row.message === null ? {} : { message: row.message }),
  at: row.at.toISOString(),
});

export interface AnalysisQuery {
  limit: number;
  beforeId?: number | undefined;
  stageIndex?: number | undefined;
}

export class RolloutAnalysisStore {
  constructor(private readonly db: Queryable) {}

  async insert(flag: string, stageIndex: number, analyses: AnalysisInput[]): Promise<RolloutAnalysis[]> {
    if (analyses.length === 0) return [];
    const { rows } = await this.db.query<Row>(
      `INSERT INTO rollout_analyses (flag, stage_index, check_name, query, value, threshold, op, outcome, message, at)
       SELECT $1, $2, a.check_name, a.query, a.value, a.threshold, a.op, a.outcome, a.message, coalesce(a.at, now())
       FROM jsonb_to_recordset($3::jsonb)
         AS a(check_name text, query text, value float8, threshold float8, op text, outcome text, message text, at timestamptz)
       RETURNING id, stage_index, check_name, query, value, threshold, op, outcome, message, at`,
      [
        flag,
        stageIndex,
        JSON.stringify(
          analyses.map((a) => ({
            check_name: a.check,
            query: a.query,
            value: a.value,
            threshold: a.threshold,
            op: a.op,
            outcome: a.outcome,
            message: a.message ?? null,
            at: a.at ?? null,
          })),
        ),
      ],
    );
    return rows.map(toAnalysis);
  }

  /** Newest first. */
  async list(flag: string, query: AnalysisQuery): Promise<RolloutAnalysis[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, stage_index, check_name, query, value, threshold, op, outcome, message, at FROM rollout_analyses
       WHERE flag = $1 AND ($2::bigint IS NULL OR id < $2) AND ($3::int IS NULL OR stage_index = $3)
       ORDER BY id DESC LIMIT $4`,
      [flag, query.beforeId ?? null, query.stageIndex ?? null, query.limit],
    );
    return rows.map(toAnalysis);
  }
}
