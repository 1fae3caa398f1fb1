// Owns rollouts: the stage plan, the analysis settings and the current state.
import { type Queryable, sqlState } from '../../db/Database.js';
import { AlreadyExistsError, CohortNotFoundError } from '../../errors.js';
import type { AnalysisSettings, Rollout, RolloutMode, RolloutOnFailure, RolloutStage, RolloutStatus } from './Rollout.js';
import type { RolloutState } from './rolloutRules.js';

interface Row {
  flag: string;
  description: string;
  group_id: string;
  pilot_cohort: string | null;
  mode: RolloutMode;
  on_failure: RolloutOnFailure;
  analysis: AnalysisSettings;
  stages: RolloutStage[];
  status: RolloutStatus;
  stage_index: number;
  percent: number;
  enabled: boolean;
  stage_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: string;
}

const COLUMNS = `flag, description, group_id, pilot_cohort, mode, on_failure, analysis, stages, status, stage_index,
  percent, enabled, stage_started_at, created_at, updated_at, version`;

const toRollout = (row: Row): Rollout => ({
  flag: row.flag,
  description: row.description,
  groupId: row.group_id,
  pilotCohort: row.pilot_cohort,
  mode: row.mode,
  onFailure: row.on_failure,
  analysis: row.analysis,
  stages: row.stages,
  status: row.status,
  stageIndex: row.stage_index,
  percent: row.percent,
  enabled: row.enabled,
  stageStartedAt: row.stage_started_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  version: Number(row.version),
});

/** What `insert` takes: the plan and settings; the state starts paused at stage -1. */
export type NewRollout = Pick<
  Rollout,
  'flag' | 'description' | 'groupId' | 'pilotCohort' | 'mode' | 'onFailure' | 'analysis' | 'stages' | 'version'
>;

export class RolloutStore {
  constructor(private readonly db: Queryable) {}

  /** By flag. */
  async list(): Promise<Rollout[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM rollouts ORDER BY flag`);
    return rows.map(toRollout);
  }

  /** `forUpdate` locks the row until the transaction ends. */
  async get(flag: string, options: { forUpdate?: boolean } = {}): Promise<Rollout | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM rollouts WHERE flag = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [
      flag,
    ]);
    return rows[0] ? toRollout(rows[0]) : null;
  }

  /** Starts paused at stage -1 (off). */
  async insert(rollout: NewRollout): Promise<Rollout> {
    try {
      const { rows } = await this.db.query<Row>(
        `INSERT INTO rollouts (flag, description, group_id, pilot_cohort, mode, on_failure, analysis, stages, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9) RETURNING ${COLUMNS}`,
        [
          rollout.flag,
          rollout.description,
          rollout.groupId,
          rollout.pilotCohort,
          rollout.mode,
          rollout.onFailure,
          JSON.stringify(rollout.analysis),
          JSON.stringify(rollout.stages),
          rollout.version,
        ],
      );
      return toRollout(rows[0]!);
    } catch (err) {
      if (sqlState(err) === '23505') {
        throw new AlreadyExistsError(`rollout '${rollout.flag}' already exists`, {
          hint: `see it with GET /v1/rollouts/${rollout.flag}`,
          details: { flag: rollout.flag },
        });
      }
      if (sqlState(err) === '23503' && rollout.pilotCohort !== null) throw new CohortNotFoundError(rollout.pilotCohort);
      throw err;
    }
  }

  async setState(flag: string, state: RolloutState, version: number): Promise<Rollout> {
    const { rows } = await this.db.query<Row>(
      `UPDATE rollouts SET status = $2, stage_index = $3, percent = $4, enabled = $5, stage_started_at = $6,
         version = $7, updated_at = now()
       WHERE flag = $1 RETURNING ${COLUMNS}`,
      [flag, state.status, state.stageIndex, state.percent, state.enabled, state.stageStartedAt, version],
    );
    return toRollout(rows[0]!);
  }

  async markAnalysed(flag: string, at: string): Promise<void> {
    await this.db.query('UPDATE rollouts SET last_analysis_at = $2 WHERE flag = $1', [flag, at]);
  }

  /**
   * Running rollouts the SLO gates look at (automatic ones, and manual ones whose
   * current stage has checks: a breach pauses or rolls those back too) whose last
   * analysis is at least analysis.intervalSeconds old (or that have none), oldest first.
   */
  async dueForAnalysis(now: string): Promise<Rollout[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM rollouts
       WHERE status = 'running' AND stage_index >= 0
         AND (mode = 'automatic' OR jsonb_array_length(coalesce(stages -> stage_index -> 'checks', '[]')) > 0)
         AND (last_analysis_at IS NULL
              OR last_analysis_at + make_interval(secs => (analysis->>'intervalSeconds')::float8) <= $1::timestamptz)
       ORDER BY last_analysis_at NULLS FIRST, flag`,
      [now],
    );
    return rows.map(toRollout);
  }

  /** Names of cohorts some rollout uses as its pilot. */
  async pilotCohorts(): Promise<string[]> {
    const { rows } = await this.db.query<{ name: string }>(
      'SELECT DISTINCT pilot_cohort AS name FROM rollouts WHERE pilot_cohort IS NOT NULL ORDER BY 1',
    );
    return rows.map((r) => r.name);
  }
}
