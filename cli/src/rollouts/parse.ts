// What people type for rollouts, turned into the API's shapes or a named usage error.
// The control plane checks all of it again; checking here too means a typo never
// reaches it and the message can name the flag that was wrong.
import { readFile } from 'node:fs/promises';
import {
  ANALYSIS_BOUNDS,
  CHECK_NAME_PATTERN,
  CHECK_OPS,
  MIN_DWELL_SECONDS_MAX,
  NO_DATA_POLICIES,
  ORG_ID_MAX,
  PERCENT_MAX,
} from '@orgplane/control-plane/api/rules';
import { CliError, ExitCode } from '../errors.js';
import type { CheckOp, NoDataPolicy, RolloutAnalysisPolicy, RolloutCheck, RolloutStage } from './types.js';

const usage = (code: string, message: string, hint: string, details?: unknown) =>
  new CliError(code, message, hint, ExitCode.usage, details);

/** A whole percent 0..100; a trailing `%` is allowed. */
export function parsePercent(raw: string): number {
  const text = raw.trim().replace(/%$/, '');
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n > PERCENT_MAX) {
    throw usage('INVALID_PERCENT', `'${raw}' is not a percentage`, 'a percentage is a whole number from 0 to 100');
  }
  return n;
}

/** `30`, `30s`, `10m`, `1h` -> seconds. */
export function parseDuration(raw: string, what: string): number {
  const match = /^\s*(\d+)\s*(s|m|h)?\s*$/.exec(raw);
  if (!match?.[1]) throw usage('INVALID_DURATION', `${what}: '${raw}' is not a duration`, 'write seconds, or 30s, 10m, 2h');
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}

/**
 * `pilot,10,25,50,100` or `0,10,25,50,100`: `pilot` (only first) is a stage at 0 %
 * where only the pilot cohort is in. Percents are whole, 0..100, strictly increasing.
 */
export function parseStagePercents(raw: string): { percents: number[]; pilot: boolean } {
  const parts = raw.split(',').map((p) => p.trim());
  const hint = 'write the stages as increasing percents, for example --stages pilot,10,25,50,100';
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw usage('INVALID_STAGES', `--stages '${raw}' has an empty stage`, hint);
  }
  const pilot = parts[0]?.toLowerCase() === 'pilot';
  const percents = parts.map((p, i) => {
    if (i === 0 && pilot) return 0;
    if (p.toLowerCase() === 'pilot') throw usage('INVALID_STAGES', '--stages: `pilot` can only be the first stage', hint);
    try {
      return parsePercent(p);
    } catch {
      throw usage('INVALID_STAGES', `--stages: '${p}' is not a percentage from 0 to 100`, hint);
    }
  });
  checkIncreasing(percents, hint);
  return { percents, pilot };
}

function checkIncreasing(percents: number[], hint: string): void {
  for (let i = 1; i < percents.length; i++) {
    if ((percents[i] ?? 0) <= (percents[i - 1] ?? 0)) {
      throw usage('INVALID_STAGES', `stages must increase strictly: ${percents[i]} comes after ${percents[i - 1]}`, hint, { percents });
    }
  }
}

const CHECK_NAME = new RegExp(CHECK_NAME_PATTERN);

/**
 * `name:query<threshold` (or <=, >, >=). The query is PromQL and may hold operators
 * of its own: the comparison is the last operator followed by nothing but a number.
 */
export function parseCheck(raw: string): RolloutCheck {
  const hint = "write a check as name:query<threshold, for example 'errors:sum(rate(http_errors_total[5m]))<0.01'";
  const colon = raw.indexOf(':');
  const name = colon > 0 ? raw.slice(0, colon).trim() : '';
  if (!CHECK_NAME.test(name)) throw usage('INVALID_CHECK', `--check '${raw}' has no valid name before ':'`, hint);
  const match = /^([\s\S]*?)(<=|>=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*$/i.exec(raw.slice(colon + 1));
  const query = match?.[1]?.trim();
  if (!match || !query) throw usage('INVALID_CHECK', `--check '${raw}' has no query and comparison`, hint);
  return { name, query, op: match[2] as CheckOp, threshold: Number(match[3]) };
}

/** Stages from --stages, the same checks and dwell on every stage. */
export function stagesFromFlags(percents: number[], checks: RolloutCheck[], minDwellSeconds: number): RolloutStage[] {
  if (minDwellSeconds > MIN_DWELL_SECONDS_MAX) {
    throw usage(
      'INVALID_DURATION',
      `--min-dwell: ${minDwellSeconds}s is longer than 30 days`,
      `write at most ${MIN_DWELL_SECONDS_MAX / 3600}h, for example 24h`,
    );
  }
  const names = new Set<string>();
  for (const c of checks) {
    if (names.has(c.name)) throw usage('INVALID_CHECK', `two checks are named '${c.name}'`, 'give every --check its own name');
    names.add(c.name);
  }
  return percents.map((percent) => ({ percent, minDwellSeconds, checks }));
}

export interface Plan {
  stages: RolloutStage[];
  analysis: Partial<RolloutAnalysisPolicy>;
}

const OPS: readonly string[] = CHECK_OPS;
const NO_DATA: readonly string[] = NO_DATA_POLICIES;

/**
 * A plan file: JSON, either the stage list or `{"stages": [...], "analysis": {...}}`.
 * A stage is `{"percent", "minDwellSeconds"?, "checks"?: [{"name","query","op","threshold"}
 * or "name:query<threshold"]}`.
 */
export async function readPlan(file: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw usage(
      'PLAN_FILE_UNREADABLE',
      `cannot read the plan ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'check the path given to --plan',
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw usage(
      'INVALID_PLAN',
      `the plan ${file} is not JSON: ${(err as Error).message}`,
      'a plan is a JSON document, see `orgplane rollouts create --help`',
    );
  }
  return parsePlan(doc, file);
}

export function parsePlan(doc: unknown, where: string): Plan {
  const bad = (path: string, what: string) =>
    usage(
      'INVALID_PLAN',
      `${where}: ${path} ${what}`,
      'a plan is {"stages": [{"percent", "minDwellSeconds", "checks"}], "analysis": {...}}',
      {
        path,
      },
    );
  const root = Array.isArray(doc) ? { stages: doc } : doc;
  if (!isObject(root) || !Array.isArray(root.stages) || root.stages.length === 0) throw bad('stages', 'must be a non-empty list');
  const stages = root.stages.map((s, i): RolloutStage => {
    const at = `stages[${i}]`;
    if (!isObject(s)) throw bad(at, 'must be an object');
    if (!Number.isInteger(s.percent) || (s.percent as number) < 0 || (s.percent as number) > PERCENT_MAX) {
      throw bad(`${at}.percent`, 'must be a whole number from 0 to 100');
    }
    const dwell = s.minDwellSeconds ?? 0;
    if (!Number.isInteger(dwell) || (dwell as number) < 0 || (dwell as number) > MIN_DWELL_SECONDS_MAX) {
      throw bad(`${at}.minDwellSeconds`, `must be a whole number of seconds, at most ${MIN_DWELL_SECONDS_MAX} (30 days)`);
    }
    const rawChecks = s.checks ?? [];
    if (!Array.isArray(rawChecks)) throw bad(`${at}.checks`, 'must be a list');
    const checks = rawChecks.map((c, j): RolloutCheck => {
      const cat = `${at}.checks[${j}]`;
      if (typeof c === 'string') return parseCheck(c);
      if (!isObject(c)) throw bad(cat, 'must be an object or "name:query<threshold"');
      if (typeof c.name !== 'string' || !CHECK_NAME.test(c.name)) throw bad(`${cat}.name`, 'must be a name like error-rate');
      if (typeof c.query !== 'string' || c.query.trim() === '') throw bad(`${cat}.query`, 'must be a PromQL query');
      if (typeof c.op !== 'string' || !OPS.includes(c.op)) throw bad(`${cat}.op`, 'must be one of < <= > >=');
      if (typeof c.threshold !== 'number' || !Number.isFinite(c.threshold)) throw bad(`${cat}.threshold`, 'must be a number');
      return { name: c.name, query: c.query, op: c.op as CheckOp, threshold: c.threshold };
    });
    return { percent: s.percent as number, minDwellSeconds: dwell as number, checks };
  });
  checkIncreasing(
    stages.map((s) => s.percent),
    'the stages of a plan must have strictly increasing percents',
  );
  const analysis: Partial<RolloutAnalysisPolicy> = {};
  if (root.analysis !== undefined) {
    const a = root.analysis;
    if (!isObject(a)) throw bad('analysis', 'must be an object');
    for (const key of ['intervalSeconds', 'failureLimit', 'minSamples'] as const) {
      if (a[key] === undefined) continue;
      const { minimum, maximum } = ANALYSIS_BOUNDS[key];
      if (!Number.isInteger(a[key]) || (a[key] as number) < minimum || (a[key] as number) > maximum) {
        throw bad(`analysis.${key}`, `must be a whole number from ${minimum} to ${maximum}`);
      }
      analysis[key] = a[key] as number;
    }
    if (a.noData !== undefined) {
      if (typeof a.noData !== 'string' || !NO_DATA.includes(a.noData)) throw bad('analysis.noData', 'must be pass, fail or hold');
      analysis.noData = a.noData as NoDataPolicy;
    }
  }
  return { stages, analysis };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Org ids from an exclusion file: one a line or comma separated, `#` comments and blank
 * lines ignored. A token that is not an org id is a named error with its line number.
 */
export function parseOrgIdList(text: string, file: string): number[] {
  const ids = new Set<number>();
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/#.*$/, '');
    for (const token of line.split(/[,\s]+/)) {
      if (token === '') continue;
      const n = Number(token);
      if (!/^\d+$/.test(token) || !Number.isSafeInteger(n) || n > ORG_ID_MAX) {
        throw usage(
          'INVALID_EXCLUDE_FILE',
          `${file}:${i + 1}: '${token.slice(0, 40)}' is not an org id`,
          'an exclusion file holds org ids (whole numbers), one a line or separated by commas',
          { file, line: i + 1 },
        );
      }
      ids.add(n);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

export async function readOrgIdFile(file: string): Promise<number[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw usage(
      'EXCLUDE_FILE_UNREADABLE',
      `cannot read the exclusion file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'check the path given to --exclude',
    );
  }
  return parseOrgIdList(text, file);
}
