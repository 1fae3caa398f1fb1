// What `rollouts watch` shows, computed from the API's answers by pure functions so the
// live view, the --json document and the tests all see the same thing.
import type { ApiClient } from '../apiClient.js';
import { ApiError } from '../errors.js';
import { cohortPath, rolloutPath } from './api.js';
import type { Analysis, AnalysisOutcome, CheckOp, CohortPage, GateAction, Rollout, RolloutStatus } from './types.js';

export interface WatchCheck {
  name: string;
  query: string;
  op: CheckOp;
  threshold: number;
  /** The latest analysis of this check in the current stage; null before the first. */
  value: number | null;
  outcome: AnalysisOutcome | 'pending';
  at: string | null;
  message: string | null;
}

export interface WatchCoverage {
  /** Orgs the flag is on for, pilot members included; null when the population is unknown. */
  orgs: number | null;
  /** Share of the population, 0..1. */
  share: number;
  /** How many orgs exist, and where that number came from. */
  population: number | null;
  populationSource: 'pilot-strata' | 'unknown';
  /** The count mixes a known pilot with an expected share of a hash bucket: it is an estimate. */
  estimated: boolean;
}

/**
 * The last gate decision: from the audit log (`rollout.gate` rows, what the gate did),
 * or, for a token that may not read the audit log, inferred from the analyses (the
 * newest failing one, else the newest pass in this stage), with no action.
 */
export interface WatchDecision {
  source: 'gate' | 'analyses';
  at: string;
  action: GateAction | null;
  outcome: 'pass' | 'fail';
  /** The stage the decision was taken in. */
  stageIndex: number;
  /** The check that failed (or passed, when inferred), if known. */
  check: string | null;
  message: string | null;
}

export interface WatchState {
  flag: string;
  status: RolloutStatus;
  enabled: boolean;
  mode: Rollout['mode'];
  onFailure: Rollout['onFailure'];
  stageIndex: number;
  stageCount: number;
  percent: number;
  stageStartedAt: string | null;
  pilot: { cohort: string; size: number | null } | null;
  coverage: WatchCoverage;
  checks: WatchCheck[];
  lastDecision: WatchDecision | null;
  version: number;
  observedAt: string;
}

/**
 * Orgs covered: the pilot plus `percent` of the rest. Bucketing is a hash, so the
 * bucketed part is the expected count, not an exact one; without a known population
 * only the share is known.
 */
export function coverage(
  rollout: Pick<Rollout, 'enabled' | 'percent' | 'stageIndex'>,
  pilotSize: number | null,
  population: number | null,
): WatchCoverage {
  const off = !rollout.enabled || rollout.stageIndex < 0;
  const pilot = off ? 0 : (pilotSize ?? 0);
  const p = off ? 0 : rollout.percent / 100;
  if (population === null || population <= 0) {
    return { orgs: off ? 0 : null, share: p, population: null, populationSource: 'unknown', estimated: !off };
  }
  const orgs = p === 1 ? population : Math.round(pilot + (population - pilot) * p);
  return {
    orgs,
    share: orgs / population,
    population,
    populationSource: 'pilot-strata',
    estimated: !off && p > 0 && p < 1,
  };
}

/** The latest analysis of each check of the current stage (analyses come newest first). */
export function latestChecks(rollout: Rollout, analyses: Analysis[]): WatchCheck[] {
  const stage = rollout.stages[rollout.stageIndex];
  if (!stage) return [];
  return stage.checks.map((c) => {
    const latest = analyses.find((a) => a.check === c.name && a.stageIndex === rollout.stageIndex);
    return {
      name: c.name,
      query: c.query,
      op: c.op,
      threshold: c.threshold,
      value: latest?.value ?? null,
      outcome: latest?.outcome ?? 'pending',
      at: latest?.at ?? null,
      message: latest?.message ?? null,
    };
  });
}

/**
 * The last gate decision the analyses show: the newest failing analysis, or, if none
 * failed in the current stage, its newest passing one.
 */
export function inferredDecision(rollout: Rollout, analyses: Analysis[]): WatchDecision | null {
  const failed = analyses.find((a) => a.outcome === 'fail' || a.outcome === 'error');
  const passed = analyses.find((a) => a.outcome === 'pass' && a.stageIndex === rollout.stageIndex);
  const pick = failed && (!passed || failed.at >= passed.at) ? failed : passed;
  if (!pick) return null;
  return {
    source: 'analyses',
    at: pick.at,
    action: null,
    stageIndex: pick.stageIndex,
    outcome: pick === failed ? 'fail' : 'pass',
    check: pick.check,
    message: pick.message ?? null,
  };
}

/** The audit rows the watch reads: `rollout.gate`, newest first. */
export interface GateAuditEntry {
  action: string;
  reason: string | null;
  before: unknown;
  after: unknown;
  createdAt: string;
}

const GATE_ACTIONS: readonly string[] = ['advance', 'pause', 'rollback'];

/** The newest `rollout.gate` decision about `flag` among audit rows (newest first). */
export function gateDecision(flag: string, entries: GateAuditEntry[]): WatchDecision | null {
  for (const e of entries) {
    const after = e.after as { flag?: unknown; gate?: { decision?: unknown; analyses?: unknown } } | null;
    if (e.action !== 'rollout.gate' || after?.flag !== flag) continue;
    const action =
      typeof after.gate?.decision === 'string' && GATE_ACTIONS.includes(after.gate.decision) ? (after.gate.decision as GateAction) : null;
    const analyses = Array.isArray(after.gate?.analyses) ? (after.gate.analyses as Partial<Analysis>[]) : [];
    const failing = analyses.find((a) => a.outcome !== 'pass');
    const before = e.before as { stageIndex?: unknown } | null;
    return {
      source: 'gate',
      at: e.createdAt,
      action,
      outcome: action === 'advance' ? 'pass' : 'fail',
      stageIndex: typeof before?.stageIndex === 'number' ? before.stageIndex : (analyses[0]?.stageIndex ?? -1),
      check: (action === 'advance' ? analyses[0]?.check : failing?.check) ?? null,
      message: e.reason,
    };
  }
  return null;
}

/**
 * `gateEntries` null: the token may not read the audit log, so the decision is inferred
 * from the analyses.
 */
export function watchState(
  rollout: Rollout,
  analyses: Analysis[],
  cohort: Pick<CohortPage, 'size' | 'strata'> | null,
  now: Date,
  gateEntries: GateAuditEntry[] | null = null,
): WatchState {
  const population = cohort && cohort.strata.length > 0 ? cohort.strata.reduce((n, s) => n + s.population, 0) : null;
  return {
    flag: rollout.flag,
    status: rollout.status,
    enabled: rollout.enabled,
    mode: rollout.mode,
    onFailure: rollout.onFailure,
    stageIndex: rollout.stageIndex,
    stageCount: rollout.stages.length,
    percent: rollout.percent,
    stageStartedAt: rollout.stageStartedAt,
    pilot: rollout.pilotCohort ? { cohort: rollout.pilotCohort, size: cohort?.size ?? null } : null,
    coverage: coverage(rollout, cohort?.size ?? null, population),
    checks: latestChecks(rollout, analyses),
    lastDecision: gateEntries === null ? inferredDecision(rollout, analyses) : gateDecision(rollout.flag, gateEntries),
    version: rollout.version,
    observedAt: now.toISOString(),
  };
}

/** Gate decisions read per refresh; older ones about this flag are not shown. */
export const GATE_AUDIT_LIMIT = 50;

/**
 * Reads the rollout, its analyses, its gate decisions and (once, it does not change) its pilot cohort's
 * size and strata. A pilot cohort that is gone leaves the coverage unknown.
 */
export function createWatchLoader(api: ApiClient, flag: string, now: () => Date = () => new Date()): () => Promise<WatchState> {
  let cohort: Pick<CohortPage, 'size' | 'strata'> | null | undefined;
  let cohortName: string | null = null;
  let auditReadable = true;
  const gateEntries = async (): Promise<GateAuditEntry[] | null> => {
    if (!auditReadable) return null;
    try {
      return (await api.get<{ entries: GateAuditEntry[] }>('/v1/audit', { action: 'rollout.gate', limit: GATE_AUDIT_LIMIT })).entries;
    } catch (err) {
      // A rollout token may not read the audit log: infer from the analyses instead.
      if (!(err instanceof ApiError && err.status === 403)) throw err;
      auditReadable = false;
      return null;
    }
  };
  return async () => {
    const [rollout, page, gates] = await Promise.all([
      api.get<Rollout>(rolloutPath(flag)),
      api.get<{ analyses: Analysis[] }>(rolloutPath(flag, 'analyses'), { limit: 100 }),
      gateEntries(),
    ]);
    if (rollout.pilotCohort !== cohortName) {
      cohortName = rollout.pilotCohort;
      cohort = undefined;
    }
    if (cohort === undefined && cohortName) {
      try {
        const c = await api.get<CohortPage>(cohortPath(cohortName), { limit: 1 });
        cohort = { size: c.size, strata: c.strata };
      } catch (err) {
        if (!(err instanceof ApiError && (err.status === 404 || err.status === 403))) throw err;
        cohort = null;
      }
    }
    return watchState(rollout, page.analyses, cohort ?? null, now(), gates);
  };
}
