// Rollouts: create, move through the stage plan, kill. Every change is a config change
// (the `rollouts` delta lists every rollout) with its audit row; the SLO-gate worker
// drives automatic rollouts through recordAnalyses / applyGateDecision / dueForAnalysis.
import { type ConfigDelta, PERCENT_MAX, PERCENT_MIN } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { CohortNotFoundError, InvalidInputError, InvalidRolloutStateError, RolloutNotFoundError } from '../../errors.js';
import type { Stores } from '../../stores.js';
import type { AuditAction } from '../audit/AuditStore.js';
import type { Actor } from '../auth/Actor.js';
import { commitConfigChange } from '../config/commitConfigChange.js';
import {
  type AnalysisInput,
  type AnalysisSettings,
  DEFAULT_ANALYSIS,
  type Rollout,
  type RolloutAnalysis,
  type RolloutCheck,
  type RolloutMode,
  type RolloutOnFailure,
  toWireRollout,
} from './Rollout.js';
import type { AnalysisQuery } from './RolloutAnalysisStore.js';
import { nextState, type Transition, validateStages } from './rolloutRules.js';

export interface CreateRolloutInput {
  flag: string;
  description?: string | undefined;
  groupId?: string | undefined;
  pilotCohort?: string | null | undefined;
  mode?: RolloutMode | undefined;
  onFailure?: RolloutOnFailure | undefined;
  analysis?: Partial<AnalysisSettings> | undefined;
  stages: { percent: number; minDwellSeconds?: number | undefined; checks?: RolloutCheck[] | undefined }[];
  reason?: string | undefined;
  expectedVersion?: number | undefined;
}

export interface TransitionMeta {
  reason?: string | undefined;
  expectedVersion?: number | undefined;
}

export type GateDecision = 'advance' | 'pause' | 'rollback';

export interface GateDecisionInput {
  decision: GateDecision;
  reason: string;
  /** The analyses behind the decision; they go into the audit row's `after`. */
  analyses: (AnalysisInput | RolloutAnalysis)[];
  /** Refuse (INVALID_ROLLOUT_STATE) when the rollout has left this stage meanwhile. */
  expectedStageIndex?: number | undefined;
  /**
   * Refuse (INVALID_ROLLOUT_STATE) when the rollout changed at all since the gate read it
   * (its `version`): an operator's pause while the checks ran must not be advanced over.
   */
  expectedRolloutVersion?: number | undefined;
}

export interface RolloutServiceOptions {
  /** Asks Prometheus whether a check's query parses; throws InvalidPromqlError when not. */
  validateQuery?: (query: string) => Promise<void>;
  now?: () => Date;
}

/** The actor of decisions the gate worker makes by itself. */
export const GATE_ACTOR: Actor = { name: 'slo-gate', tokenId: null, scope: 'admin' };

export class RolloutService {
  private readonly now: () => Date;

  constructor(
    private readonly db: Database<Stores>,
    private readonly options: RolloutServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async list(): Promise<Rollout[]> {
    return this.db.stores.rollouts.list();
  }

  async get(flag: string): Promise<Rollout> {
    const rollout = await this.db.stores.rollouts.get(flag);
    if (!rollout) throw new RolloutNotFoundError(flag);
    return rollout;
  }

  /** The rollout with its latest `limit` analyses. */
  async detail(flag: string, limit = 50): Promise<Rollout & { analyses: RolloutAnalysis[] }> {
    return this.db.transaction(
      async (stores) => {
        const rollout = await stores.rollouts.get(flag);
        if (!rollout) throw new RolloutNotFoundError(flag);
        return { ...rollout, analyses: await stores.rolloutAnalyses.list(flag, { limit }) };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  async analyses(flag: string, query: AnalysisQuery): Promise<RolloutAnalysis[]> {
    return this.db.transaction(
      async (stores) => {
        if (!(await stores.rollouts.get(flag))) throw new RolloutNotFoundError(flag);
        return stores.rolloutAnalyses.list(flag, query);
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  async create(actor: Actor, input: CreateRolloutInput): Promise<Rollout> {
    const stages = input.stages.map((s) => ({ percent: s.percent, minDwellSeconds: s.minDwellSeconds ?? 0, checks: s.checks ?? [] }));
    if (stages.length === 0) {
      throw new InvalidInputError('a rollout needs at least one stage', { details: [{ field: 'stages', message: 'must not be empty' }] });
    }
    validateStages(stages);
    const analysis: AnalysisSettings = { ...DEFAULT_ANALYSIS, ...input.analysis };
    if (this.options.validateQuery) {
      for (const stage of stages) for (const check of stage.checks) await this.options.validateQuery(check.query);
    }
    const pilotCohort = input.pilotCohort ?? null;
    const { result } = await commitConfigChange(
      this.db,
      { actor, action: 'rollout.create', reason: input.reason, expectedVersion: input.expectedVersion },
      async (stores, current) => {
        const alreadyPilot = pilotCohort !== null && (await stores.rollouts.pilotCohorts()).includes(pilotCohort);
        if (pilotCohort !== null && !(await stores.cohorts.get(pilotCohort))) throw new CohortNotFoundError(pilotCohort);
        const rollout = await stores.rollouts.insert({
          flag: input.flag,
          description: input.description ?? '',
          groupId: input.groupId ?? input.flag,
          pilotCohort,
          mode: input.mode ?? 'manual',
          onFailure: input.onFailure ?? 'pause',
          analysis,
          stages,
          version: current + 1,
        });
        const delta: Omit<ConfigDelta, 'version' | 'action'> = { rollouts: (await stores.rollouts.list()).map(toWireRollout) };
        // A runtime learns a pilot cohort's members the first time a rollout names it.
        if (pilotCohort !== null && !alreadyPilot) delta.cohorts = { upsert: await stores.cohorts.wire([pilotCohort]), remove: [] };
        return { result: rollout, before: null, after: rollout, delta };
      },
    );
    return result;
  }

  async advance(actor: Actor, flag: string, meta: TransitionMeta = {}): Promise<Rollout> {
    return this.transition(actor, 'rollout.advance', flag, 'advance', meta);
  }

  /** Manual override: serve `percent`; stageIndex becomes the last stage at or below it. */
  async set(actor: Actor, flag: string, percent: number, meta: TransitionMeta = {}): Promise<Rollout> {
    if (!Number.isInteger(percent) || percent < PERCENT_MIN || percent > PERCENT_MAX) {
      throw new InvalidInputError(`percent must be an integer in 0..100, got ${percent}`, {
        details: [{ field: 'percent', message: 'must be an integer in 0..100' }],
      });
    }
    return this.transition(actor, 'rollout.set', flag, 'set', meta, { percent });
  }

  async pause(actor: Actor, flag: string, meta: TransitionMeta = {}): Promise<Rollout> {
    return this.transition(actor, 'rollout.pause', flag, 'pause', meta);
  }

  async resume(actor: Actor, flag: string, meta: TransitionMeta = {}): Promise<Rollout> {
    return this.transition(actor, 'rollout.resume', flag, 'resume', meta);
  }

  async rollback(actor: Actor, flag: string, meta: TransitionMeta = {}): Promise<Rollout> {
    return this.transition(actor, 'rollout.rollback', flag, 'rollback', meta);
  }

  async kill(actor: Actor, flag: string, meta: TransitionMeta = {}): Promise<Rollout> {
    return this.transition(actor, 'rollout.kill', flag, 'kill', meta);
  }

  // --- for the SLO-gate worker ---

  /** Automatic, running rollouts whose analysis interval has elapsed. */
  async dueForAnalysis(): Promise<Rollout[]> {
    return this.db.stores.rollouts.dueForAnalysis(this.now().toISOString());
  }

  /** Store one round of check results (no config change, no audit row). */
  async recordAnalyses(flag: string, stageIndex: number, analyses: AnalysisInput[]): Promise<RolloutAnalysis[]> {
    return this.db.transaction(async (stores) => {
      if (!(await stores.rollouts.get(flag, { forUpdate: true }))) throw new RolloutNotFoundError(flag);
      const stored = await stores.rolloutAnalyses.insert(flag, stageIndex, analyses);
      await stores.rollouts.markAnalysed(flag, this.now().toISOString());
      return stored;
    });
  }

  /** The gate's automatic decision, audited as `rollout.gate` with its analyses. */
  async applyGateDecision(flag: string, input: GateDecisionInput, actor: Actor = GATE_ACTOR): Promise<Rollout> {
    return this.transition(
      actor,
      'rollout.gate',
      flag,
      input.decision,
      { reason: input.reason },
      {
        expectedStageIndex: input.expectedStageIndex,
        expectedRolloutVersion: input.expectedRolloutVersion,
        audit: { decision: input.decision, analyses: input.analyses },
      },
    );
  }

  private async transition(
    actor: Actor,
    action: AuditAction,
    flag: string,
    transition: Transition,
    meta: TransitionMeta,
    extra: {
      percent?: number;
      expectedStageIndex?: number | undefined;
      expectedRolloutVersion?: number | undefined;
      audit?: Record<string, unknown>;
    } = {},
  ): Promise<Rollout> {
    const { result } = await commitConfigChange(
      this.db,
      { actor, action, reason: meta.reason, expectedVersion: meta.expectedVersion },
      async (stores, current) => {
        const before = await stores.rollouts.get(flag, { forUpdate: true });
        if (!before) throw new RolloutNotFoundError(flag);
        if (extra.expectedStageIndex !== undefined && extra.expectedStageIndex !== before.stageIndex) {
          throw new InvalidRolloutStateError(
            `rollout '${flag}' is at stage ${before.stageIndex}, not ${extra.expectedStageIndex}: the gate's analysis is stale`,
            { details: { flag, status: before.status, stageIndex: before.stageIndex } },
          );
        }
        if (extra.expectedRolloutVersion !== undefined && extra.expectedRolloutVersion !== before.version) {
          throw new InvalidRolloutStateError(
            `rollout '${flag}' changed (version ${before.version}, not ${extra.expectedRolloutVersion}) since the gate read it: the gate's analysis is stale`,
            { details: { flag, status: before.status, stageIndex: before.stageIndex } },
          );
        }
        const state = nextState(before, transition, this.now().toISOString(), extra.percent);
        const after = await stores.rollouts.setState(flag, state, current + 1);
        return {
          result: after,
          before,
          after: extra.audit ? { ...after, gate: extra.audit } : after,
          delta: { rollouts: (await stores.rollouts.list()).map(toWireRollout) },
        };
      },
    );
    return result;
  }
}
