// The SLO gate worker. Exactly one control-plane instance runs it: the one holding the
// gate worker's Postgres advisory lock on a dedicated connection (a session lock, so it
// goes away with the connection when an instance dies; the others try to take it over
// on every tick). Every tick it evaluates the rollouts whose analysis interval is due,
// records each check's analysis, and advances, pauses or rolls back per gateRules.
import { LeaderLock } from '../../db/LeaderLock.js';
import { Ticker } from '../../db/Ticker.js';
import type { Logger } from '../../logger.js';
import type { GateMetrics } from './GateMetrics.js';
import {
  type AnalysisSettings,
  analyse,
  type CheckAnalysis,
  decide,
  type GateAction,
  type GateCheck,
  NO_PROGRESS,
  nextProgress,
  progressFrom,
  roundVerdict,
  type StageProgress,
} from './gateRules.js';
import type { PrometheusClient } from './PrometheusClient.js';

/** pg_try_advisory_lock key of the gate worker; distinct from every other worker's. */
export const GATE_WORKER_LOCK_KEY = 7_364_100_002;

/** What the worker needs to know of a rollout. */
export interface GateRollout {
  flag: string;
  mode: 'manual' | 'automatic';
  onFailure: 'pause' | 'rollback';
  analysis: AnalysisSettings;
  stages: { percent: number; minDwellSeconds: number; checks: GateCheck[] }[];
  status: string;
  stageIndex: number;
  stageStartedAt: string | null;
  /** Changes with every state change (a resume too): the gate counts afresh from it. */
  updatedAt: string;
  /** The config version of the rollout's last change: a decision for an older one is stale. */
  version: number;
}

export interface GateDecision {
  flag: string;
  action: GateAction;
  /** The stage the decision was made for: a rollout that moved since is left alone. */
  stageIndex: number;
  /** The rollout's version the decision was made on: a rollout changed since is left alone. */
  rolloutVersion: number;
  /** Why, in words (the audit row's reason). */
  reason: string;
  /** The round that decided, plus the stage's counts. */
  analyses: CheckAnalysis[];
  samples: number;
  consecutiveFailures: number;
}

/** The rollouts domain, as the gate worker uses it (RolloutService implements it). */
export interface GatePort {
  /** Running rollouts at stage >= 0 whose last analysis is intervalSeconds old or more (or none). */
  dueRollouts(now: Date): Promise<GateRollout[]>;
  /** Record one round of analyses of a stage, and mark the rollout analysed at `at`. */
  recordAnalyses(flag: string, stageIndex: number, analyses: CheckAnalysis[], at: Date): Promise<void>;
  /** The stage's analyses recorded at or after `since`, oldest first. */
  stageAnalyses(flag: string, stageIndex: number, since: Date): Promise<CheckAnalysis[]>;
  /** Advance, pause or roll back, audited as `rollout.gate` with the analyses. */
  applyGateDecision(decision: GateDecision): Promise<void>;
}

export interface GateWorkerOptions {
  databaseUrl: string;
  port: GatePort;
  /** null: no Prometheus configured; every check is then an `error` outcome. */
  prometheus: PrometheusClient | null;
  log: Logger;
  metrics?: GateMetrics;
  tickMs?: number;
  lockKey?: number;
  now?: () => Date;
}

interface Tracked {
  stageKey: string;
  progress: StageProgress;
}

export class GateWorker {
  private readonly tickMs: number;
  private readonly lockKey: number;
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly lock: LeaderLock;
  private readonly ticker: Ticker;
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly options: GateWorkerOptions) {
    this.tickMs = options.tickMs ?? 1000;
    this.lockKey = options.lockKey ?? GATE_WORKER_LOCK_KEY;
    this.now = options.now ?? (() => new Date());
    this.log = options.log.child({ component: 'gate-worker' });
    this.ticker = new Ticker(
      this.tickMs,
      () => this.runTick(),
      (err) => this.log.error({ err }, 'gate worker tick failed'),
    );
    this.lock = new LeaderLock({
      databaseUrl: options.databaseUrl,
      key: this.lockKey,
      applicationName: 'orgplane-gate-worker',
      log: this.log,
      onAcquired: async () => {
        this.tracked.clear();
        options.metrics?.setLeader(true);
        this.log.info('gate worker: took the lock; this instance runs the SLO gates');
      },
      onLost: () => options.metrics?.setLeader(false),
    });
  }

  /** True while this instance holds the lock and runs the gates. */
  get isLeader(): boolean {
    return this.lock.isLeader;
  }

  private get leader(): boolean {
    return this.lock.isLeader;
  }

  start(): void {
    this.ticker.start();
  }

  /** Stop ticking, wait for a running tick, release the lock (by closing its connection). */
  async stop(): Promise<void> {
    await this.ticker.stop();
    await this.lock.release();
    this.options.metrics?.setLeader(false);
  }

  /** One pass; ticks never overlap. Exposed for tests. */
  tick(): Promise<void> {
    return this.ticker.tick();
  }

  private async runTick(): Promise<void> {
    if (this.ticker.stopped) return;
    try {
      if (!(await this.lock.acquire())) return;
      const due = await this.options.port.dueRollouts(this.now());
      for (const rollout of due) {
        // Lost the lock meanwhile: another instance may be running the gates already.
        if (this.ticker.stopped || !this.leader) return;
        await this.evaluate(rollout).catch((err: unknown) => this.log.error({ err, flag: rollout.flag }, 'gate evaluation failed'));
      }
    } catch (err) {
      this.log.error({ err }, 'gate worker tick failed');
    }
  }

  private async evaluate(rollout: GateRollout): Promise<void> {
    const stage = rollout.stages[rollout.stageIndex];
    if (!stage || rollout.status !== 'running' || !rollout.stageStartedAt) return;
    const now = this.now();
    const stageStartedAt = new Date(rollout.stageStartedAt);
    // A resumed stage is judged afresh: failures from before the pause do not count.
    const countFrom = new Date(Math.max(stageStartedAt.getTime(), new Date(rollout.updatedAt).getTime()));
    const dwellSeconds = (now.getTime() - stageStartedAt.getTime()) / 1000;
    const { port, metrics } = this.options;

    let analyses: CheckAnalysis[] = [];
    let progress = NO_PROGRESS;
    if (stage.checks.length > 0) {
      const previous = await this.progressOf(rollout, countFrom);
      analyses = await this.runChecks(rollout, stage.checks, now);
      // Checks can take a while: record nothing if another instance may lead by now.
      if (!(await this.lock.stillLeader())) return;
      await port.recordAnalyses(rollout.flag, rollout.stageIndex, analyses, now);
      for (const a of analyses) metrics?.observeAnalysis(rollout.flag, a);
      progress = nextProgress(
        previous,
        roundVerdict(
          analyses.map((a) => a.outcome),
          rollout.analysis.noData,
        ),
      );
      this.tracked.set(rollout.flag, { stageKey: stageKeyOf(rollout), progress });
    } else {
      await port.recordAnalyses(rollout.flag, rollout.stageIndex, [], now);
    }

    const plan = decide({
      mode: rollout.mode,
      onFailure: rollout.onFailure,
      analysis: rollout.analysis,
      hasChecks: stage.checks.length > 0,
      progress,
      dwellSeconds,
      minDwellSeconds: stage.minDwellSeconds,
    });
    // The lock went while the checks ran: a decision now could race the new leader's.
    if (!plan || !(await this.lock.stillLeader())) return;
    const decision: GateDecision = {
      flag: rollout.flag,
      action: plan.action,
      stageIndex: rollout.stageIndex,
      rolloutVersion: rollout.version,
      reason: `SLO gate: ${plan.why}`,
      analyses,
      samples: progress.samples,
      consecutiveFailures: progress.consecutiveFailures,
    };
    this.tracked.delete(rollout.flag);
    try {
      await port.applyGateDecision(decision);
    } catch (err) {
      // Someone changed the rollout while its checks ran: the next tick reads it afresh.
      if ((err as { code?: unknown }).code === 'INVALID_ROLLOUT_STATE') {
        this.log.info({ flag: rollout.flag, action: plan.action }, `SLO gate: rollout '${rollout.flag}' changed meanwhile; not applied`);
        return;
      }
      throw err;
    }
    metrics?.countDecision(plan.action);
    metrics?.forget(rollout.flag);
    this.log.info(
      { flag: rollout.flag, action: plan.action, stageIndex: rollout.stageIndex, dwellSeconds, ...progress },
      `SLO gate: ${plan.action} rollout '${rollout.flag}': ${plan.why}`,
    );
  }

  /** The stage's progress so far: kept in memory, rebuilt from the recorded analyses after a takeover. */
  private async progressOf(rollout: GateRollout, countFrom: Date): Promise<StageProgress> {
    const known = this.tracked.get(rollout.flag);
    if (known && known.stageKey === stageKeyOf(rollout)) return known.progress;
    const recorded = await this.options.port.stageAnalyses(rollout.flag, rollout.stageIndex, countFrom);
    return progressFrom(recorded, rollout.analysis.noData);
  }

  private async runChecks(rollout: GateRollout, checks: GateCheck[], at: Date): Promise<CheckAnalysis[]> {
    const prometheus = this.options.prometheus;
    return Promise.all(
      checks.map(async (check) => {
        const result = prometheus
          ? await prometheus.query(check.query, at)
          : ({ kind: 'error', message: 'no Prometheus is configured (ORGPLANE_PROMETHEUS_URL)' } as const);
        return analyse(check, rollout.stageIndex, result, at);
      }),
    );
  }
}

function stageKeyOf(rollout: GateRollout): string {
  return `${rollout.stageIndex}@${rollout.stageStartedAt}@${rollout.updatedAt}`;
}
