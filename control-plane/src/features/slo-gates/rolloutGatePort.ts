// The gate worker's view of the rollouts domain, on RolloutService: which rollouts are
// due, where their analyses go, and how a decision is applied (audited `rollout.gate`).
import type { RolloutService } from '../rollouts/RolloutService.js';
import type { GatePort } from './GateWorker.js';
import type { CheckAnalysis } from './gateRules.js';

/** Analyses read back to rebuild a stage's counts after a takeover; more than any failureLimit or minSamples needs. */
const REBUILD_LIMIT = 1000;

export function rolloutGatePort(rollouts: RolloutService): GatePort {
  return {
    dueRollouts: () => rollouts.dueForAnalysis(),
    async recordAnalyses(flag, stageIndex, analyses) {
      await rollouts.recordAnalyses(flag, stageIndex, analyses.map(toInput));
    },
    async stageAnalyses(flag, stageIndex, since) {
      const rows = await rollouts.analyses(flag, { limit: REBUILD_LIMIT, stageIndex });
      return rows.filter((row) => new Date(row.at).getTime() >= since.getTime()).reverse();
    },
    async applyGateDecision(decision) {
      await rollouts.applyGateDecision(decision.flag, {
        decision: decision.action,
        reason: decision.reason,
        analyses: decision.analyses.map(toInput),
        expectedStageIndex: decision.stageIndex,
        expectedRolloutVersion: decision.rolloutVersion,
      });
    },
  };
}

function toInput(analysis: CheckAnalysis) {
  const { stageIndex: _stageIndex, ...input } = analysis;
  return input;
}
