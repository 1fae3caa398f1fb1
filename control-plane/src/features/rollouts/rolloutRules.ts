// The rollout state machine and the stage-plan rules, as pure functions so the gate
// worker and the HTTP routes move a rollout the same way.
import { type FieldIssue, InvalidInputError, InvalidRolloutStateError } from '../../errors.js';
import type { Rollout, RolloutStage, RolloutStatus } from './Rollout.js';

/** The fields a transition changes; the store writes exactly these. */
export interface RolloutState {
  status: RolloutStatus;
  stageIndex: number;
  percent: number;
  enabled: boolean;
  stageStartedAt: string | null;
}

export type Transition = 'advance' | 'set' | 'pause' | 'resume' | 'rollback' | 'kill';

/** Stage percents are integers 0..100, strictly increasing; check names unique per stage. */
export function validateStages(stages: RolloutStage[]): void {
  const issues: FieldIssue[] = [];
  stages.forEach((stage, i) => {
    if (i > 0 && stage.percent <= stages[i - 1]!.percent) {
      issues.push({ field: `stages[${i}].percent`, message: `must be greater than stage ${i - 1}'s ${stages[i - 1]!.percent}` });
    }
    const names = new Set<string>();
    stage.checks.forEach((check, j) => {
      if (names.has(check.name)) issues.push({ field: `stages[${i}].checks[${j}].name`, message: `'${check.name}' appears twice` });
      names.add(check.name);
      const problem = promqlShapeProblem(check.query);
      if (problem) issues.push({ field: `stages[${i}].checks[${j}].query`, message: problem });
    });
  });
  if (issues.length > 0) {
    throw new InvalidInputError(`the stage plan is invalid: ${issues[0]!.field} ${issues[0]!.message}`, {
      details: issues,
      hint: 'stage percents must strictly increase, for example 0, 10, 25, 50, 100',
    });
  }
}

const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * What is structurally wrong with a PromQL query (unbalanced brackets or quotes), or
 * null. Whether Prometheus accepts it is for a validator hook that asks Prometheus.
 */
export function promqlShapeProblem(query: string): string | null {
  if (query.trim() === '') return 'must not be empty';
  const stack: string[] = [];
  for (let i = 0; i < query.length; i++) {
    const c = query[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < query.length && query[j] !== c) j += c !== '`' && query[j] === '\\' ? 2 : 1;
      if (j >= query.length) return `has an unterminated ${c} string`;
      i = j;
    } else if (c === '#') {
      while (i < query.length && query[i] !== '\n') i++;
    } else if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in CLOSERS) {
      if (stack.pop() !== CLOSERS[c]) return `has an unbalanced '${c}'`;
    }
  }
  return stack.length > 0 ? `has an unclosed '${stack[stack.length - 1]}'` : null;
}

/** Allowed statuses per transition; everything else is INVALID_ROLLOUT_STATE. */
const ALLOWED: Record<Transition, readonly RolloutStatus[]> = {
  advance: ['running', 'paused', 'killed', 'completed', 'rolled_back'],
  set: ['running', 'paused', 'killed', 'completed', 'rolled_back'],
  pause: ['running'],
  resume: ['paused', 'killed'],
  rollback: ['running', 'paused', 'completed'],
  kill: ['running', 'paused', 'completed', 'rolled_back'],
};

function refuse(rollout: Rollout, transition: Transition, why: string, hint: string): never {
  throw new InvalidRolloutStateError(`cannot ${transition} rollout '${rollout.flag}': ${why}`, {
    hint,
    details: { flag: rollout.flag, status: rollout.status, stageIndex: rollout.stageIndex, allowed: ALLOWED[transition] },
  });
}

/** The last stage whose percent is at most `percent`, or -1. */
export function stageFor(stages: RolloutStage[], percent: number): number {
  let index = -1;
  stages.forEach((stage, i) => {
    if (stage.percent <= percent) index = i;
  });
  return index;
}

function enter(rollout: Rollout, stageIndex: number, now: string): RolloutState {
  const last = rollout.stages.length - 1;
  return {
    status: stageIndex === last ? 'completed' : 'running',
    stageIndex,
    percent: rollout.stages[stageIndex]!.percent,
    enabled: true,
    stageStartedAt: now,
  };
}

/** The state after `transition`, or INVALID_ROLLOUT_STATE; never changes `rollout`. */
export function nextState(rollout: Rollout, transition: Transition, now: string, setPercent?: number): RolloutState {
  if (!ALLOWED[transition].includes(rollout.status)) {
    refuse(rollout, transition, `it is ${rollout.status}`, hintFor(rollout.status));
  }
  const last = rollout.stages.length - 1;
  const current: RolloutState = {
    status: rollout.status,
    stageIndex: rollout.stageIndex,
    percent: rollout.percent,
    enabled: rollout.enabled,
    stageStartedAt: rollout.stageStartedAt,
  };
  switch (transition) {
    case 'advance':
      if (rollout.stageIndex >= last) {
        if (rollout.status === 'killed') refuse(rollout, transition, 'it is killed at its last stage', 'resume it instead');
        refuse(rollout, transition, 'it is at its last stage', 'nothing is left to advance to');
      }
      return enter(rollout, rollout.stageIndex + 1, now);
    case 'set': {
      const percent = setPercent!;
      const stageIndex = stageFor(rollout.stages, percent);
      return {
        status: stageIndex === last ? 'completed' : rollout.status === 'running' ? 'running' : 'paused',
        stageIndex,
        percent,
        enabled: stageIndex >= 0 || percent > 0,
        stageStartedAt: stageIndex === rollout.stageIndex ? rollout.stageStartedAt : stageIndex >= 0 ? now : null,
      };
    }
    case 'pause':
      return { ...current, status: 'paused' };
    case 'resume':
      if (rollout.stageIndex < 0 && rollout.percent === 0) {
        refuse(rollout, transition, 'it has not entered a stage', `advance enters stage 0 (${rollout.stages[0]!.percent} %)`);
      }
      return { ...current, enabled: true, status: rollout.stageIndex === last ? 'completed' : 'running' };
    case 'rollback':
      if (rollout.stageIndex < 0 && rollout.percent === 0) refuse(rollout, transition, 'it is already off', 'advance enters stage 0');
      if (rollout.stageIndex <= 0) return { status: 'rolled_back', stageIndex: -1, percent: 0, enabled: false, stageStartedAt: null };
      // A rollback stops automatic progress: the gate must not advance straight back.
      return { ...enter(rollout, rollout.stageIndex - 1, now), status: 'paused' };
    case 'kill':
      return { ...current, enabled: false, status: 'killed' };
  }
}

function hintFor(status: RolloutStatus): string {
  switch (status) {
    case 'killed':
      return 'it was killed: resume it (or advance / set it) explicitly first';
    case 'paused':
      return 'resume it first';
    case 'running':
      return 'pause it first';
    case 'completed':
      return 'it is at its last stage; roll it back or set a percent';
    case 'rolled_back':
      return 'advance enters stage 0 again';
  }
}
