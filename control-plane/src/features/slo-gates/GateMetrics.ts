// The gate worker's metrics, in the control plane's registry. Labels are bounded: the
// flag and check names of running rollouts (few), and fixed outcome / action sets.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CheckAnalysis, GateAction } from './gateRules.js';

export class GateMetrics {
  private readonly evaluations: Counter<'outcome'>;
  private readonly checkValue: Gauge<'flag' | 'check'>;
  private readonly decisions: Counter<'action'>;
  private readonly leader: Gauge;
  private readonly checksByFlag = new Map<string, Set<string>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.evaluations = new Counter({
      name: 'orgplane_gate_evaluations_total',
      help: 'SLO gate check evaluations by outcome (pass, fail, no-data, error)',
      labelNames: ['outcome'],
      registers,
    });
    this.checkValue = new Gauge({
      name: 'orgplane_gate_check_value',
      help: "The latest value of each running rollout's SLO check (absent after no data or an error)",
      labelNames: ['flag', 'check'],
      registers,
    });
    this.decisions = new Counter({
      name: 'orgplane_gate_decisions_total',
      help: 'Automatic SLO gate decisions by action (advance, pause, rollback)',
      labelNames: ['action'],
      registers,
    });
    this.leader = new Gauge({
      name: 'orgplane_gate_worker_leader',
      help: '1 while this instance holds the gate worker lock and runs the SLO gates',
      registers,
    });
  }

  observeAnalysis(flag: string, analysis: CheckAnalysis): void {
    this.evaluations.inc({ outcome: analysis.outcome });
    const labels = { flag, check: analysis.check };
    if (analysis.value === null) this.checkValue.remove(labels);
    else this.checkValue.set(labels, analysis.value);
    const checks = this.checksByFlag.get(flag) ?? new Set<string>();
    checks.add(analysis.check);
    this.checksByFlag.set(flag, checks);
  }

  countDecision(action: GateAction): void {
    this.decisions.inc({ action });
  }

  /** Drop a rollout's check values once its stage is decided. */
  forget(flag: string): void {
    for (const check of this.checksByFlag.get(flag) ?? []) this.checkValue.remove({ flag, check });
    this.checksByFlag.delete(flag);
  }

  setLeader(leader: boolean): void {
    this.leader.set(leader ? 1 : 0);
  }
}
