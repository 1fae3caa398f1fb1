// The SLO gate worker. Exactly one control-plane instance runs it: the one holding the
// gate worker's Postgres advisory lock on a dedicated connection (a session lock, so it
// goes away with the connection when an instance dies; the others try to take it over
// on every tick). Every tick it evaluates the rollouts whose analysis interval is due,
// records each check's analysis, and advances, pauses or rolls back per gateRules.
import pg from 'pg';
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
  private client: pg.Client | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly options: GateWorkerOptions) {
    this.tickMs = options.tickMs ?? 1000;
    this.lockKey = options.lockKey ?? GATE_WORKER_LOCK_KEY;
    this.now = options.now ?? (() => new Date());
    this.log = options.log.child({ component: 'gate-worker' });
  }

  /** True while this instance holds the lock and runs the gates. */
  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
    void this.tick();
  }

  /** Stop ticking, wait for a running tick, release the lock (by closing its connection). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.dropLock();
  }

  /** One pass; ticks never overlap. Exposed for tests. */
  tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runTick().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!(await this.holdLock())) return;
      const due = await this.options.port.dueRollouts(this.now());
      for (const rollout of due) {
        if (this.stopped) return;
        await this.evaluate(rollout).catch((err: unknown) => this.log.error({ err, flag: rollout.flag }, 'gate evaluation failed'));
      }
    } catch (err) {
      this.log.error({ err }, 'gate worker tick failed');
    }
  }

  private async holdLock(): Promise<boolean> {
    if (this.leader && this.client) return true;
    if (!this.client) {
      const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: 'orgplane-gate-worker' });
      client.on('error', (err) => {
        if (this.leader) this.log.warn({ err }, 'gate worker: the lock connection failed; another instance may take over');
        this.lost(client);
      });
      try {
        await client.connect();
      } catch (err) {
        this.log.warn({ err }, 'gate worker: cannot connect to take the lock');
        await client.end().catch(() => {});
        return false;
      }
      this.client = client;
    }
    const { rows } = await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [this.lockKey]);
    if (rows[0]?.locked) {
      this.leader = true;
      this.tracked.clear();
      this.options.metrics?.setLeader(true);
      this.log.info('gate worker: took the lock; this instance runs the SLO gates');
    }
    return this.leader;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.leader = false;
    this.options.metrics?.setLeader(false);
    void client.end().catch(() => {});
  }

  private async dropLock(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.leader = false;
    this.options.metrics?.setLeader(false);
    if (client) await client.end().catch(() => {});
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
    if (!plan) return;
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
