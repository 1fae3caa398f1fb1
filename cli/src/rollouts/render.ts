// How people read rollouts and cohorts in the terminal (--json is for scripts).
import { formatTable } from '../table.js';
import type { Analysis, Rollout, RolloutCheck, RolloutStage, Stratum } from './types.js';

/** `pilot` for a 0 % first stage with a cohort, else `<n>%`. */
export function stageLabel(stage: RolloutStage, index: number, pilotCohort: string | null): string {
  return index === 0 && stage.percent === 0 && pilotCohort ? 'pilot' : `${stage.percent}%`;
}

/** `2/5 (25%)`, or `off` before the first stage and after rolling back past it. */
export function stagePosition(r: Pick<Rollout, 'stageIndex' | 'stages' | 'percent'>): string {
  if (r.stageIndex < 0) return `off (0/${r.stages.length})`;
  return `${r.stageIndex + 1}/${r.stages.length} (${r.percent}%)`;
}

export function checkText(c: Pick<RolloutCheck, 'name' | 'query' | 'op' | 'threshold'>): string {
  return `${c.name}: ${c.query} ${c.op} ${c.threshold}`;
}

export function rolloutRows(rollouts: Rollout[]): Record<string, unknown>[] {
  return rollouts.map((r) => ({
    flag: r.flag,
    status: r.status,
    stage: stagePosition(r),
    enabled: r.enabled,
    pilot: r.pilotCohort,
    mode: r.mode,
    plan: r.stages.map((s, i) => stageLabel(s, i, r.pilotCohort)).join(' > '),
  }));
}

export function formatRolloutList(rollouts: Rollout[]): string {
  if (rollouts.length === 0) return 'no rollouts yet: create one with `orgplane rollouts create <flag> --stages pilot,10,25,50,100`';
  return formatTable(rolloutRows(rollouts), ['flag', 'status', 'stage', 'enabled', 'pilot', 'mode', 'plan']);
}

/** The one-line outcome of a state change (`rollouts advance`, `set`, `kill`, ...). */
export function formatRolloutLine(r: Rollout): string {
  const on = r.enabled ? 'enabled' : 'disabled for every org';
  return `${r.flag}: ${r.status}, stage ${stagePosition(r)}, ${on} (config version ${r.version})`;
}

export function formatRollout(r: Rollout & { analyses?: Analysis[] }): string {
  const lines = [
    `flag         ${r.flag}${r.groupId !== r.flag ? ` (groupId ${r.groupId})` : ''}`,
    ...(r.description ? [`description  ${r.description}`] : []),
    `status       ${r.status}${r.enabled ? '' : ', disabled for every org'}`,
    `stage        ${stagePosition(r)}${r.stageStartedAt ? ` since ${r.stageStartedAt}` : ''}`,
    `pilot        ${r.pilotCohort ?? '-'}`,
    `mode         ${r.mode}, on failure ${r.onFailure}`,
    `analysis     every ${r.analysis.intervalSeconds}s; trips after ${r.analysis.failureLimit} failing round(s) in a row; advances after ${r.analysis.minSamples} sample(s); no data: ${r.analysis.noData}`,
    '',
    'stages:',
  ];
  for (const [i, s] of r.stages.entries()) {
    const marker = i === r.stageIndex ? '>' : ' ';
    lines.push(`${marker} ${i}  ${stageLabel(s, i, r.pilotCohort).padEnd(5)}  min dwell ${s.minDwellSeconds}s`);
    for (const c of s.checks) lines.push(`         ${checkText(c)}`);
  }
  if (r.analyses && r.analyses.length > 0) {
    lines.push('', 'latest analyses:');
    lines.push(formatAnalyses(r.analyses.slice(0, 10)));
  }
  return lines.join('\n');
}

export function formatAnalyses(analyses: Analysis[]): string {
  return formatTable(
    analyses.map((a) => ({
      at: a.at,
      stage: a.stageIndex,
      check: a.check,
      value: a.value,
      vs: `${a.op} ${a.threshold}`,
      outcome: a.outcome,
      message: a.message,
    })),
    ['at', 'stage', 'check', 'value', 'vs', 'outcome', 'message'],
  );
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

/** Each stratum's share of the cohort next to its share of the population. */
export function formatStrata(strata: Stratum[]): string {
  return formatTable(
    strata.map((s) => ({
      size: s.size,
      activity: s.activity,
      population: s.population,
      selected: s.selected,
      'population share': pct(s.populationShare),
      'cohort share': pct(s.selectedShare),
      skew: `${s.selectedShare >= s.populationShare ? '+' : '-'}${(Math.abs(s.selectedShare - s.populationShare) * 100).toFixed(1)} pt`,
    })),
    ['size', 'activity', 'population', 'selected', 'population share', 'cohort share', 'skew'],
  );
}
