// What people type for rollouts: every malformed input is a named usage error (exit 2)
// before anything reaches the control plane.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHECK_NAME_MAX_LENGTH, MIN_DWELL_SECONDS_MAX } from '@orgplane/control-plane/api/rules';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import {
  parseCheck,
  parseDuration,
  parseOrgIdList,
  parsePercent,
  parsePlan,
  parseStagePercents,
  readOrgIdFile,
  readPlan,
  stagesFromFlags,
} from '../src/rollouts/parse.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    return (err as CliError).code;
  }
  throw new Error('did not throw');
}

describe('parsePercent', () => {
  it('takes whole percents 0..100, with or without %', () => {
    expect(parsePercent('0')).toBe(0);
    expect(parsePercent('100')).toBe(100);
    expect(parsePercent('25%')).toBe(25);
    expect(parsePercent(' 7 ')).toBe(7);
  });
  it.each(['101', '-1', 'abc', '1.5', '', '1e2', '0x10', '50%%'])('refuses %j', (raw) => {
    expect(codeOf(() => parsePercent(raw))).toBe('INVALID_PERCENT');
  });
});

describe('parseStagePercents', () => {
  it('reads pilot as a 0 % first stage', () => {
    expect(parseStagePercents('pilot,10,25,50,100')).toEqual({ percents: [0, 10, 25, 50, 100], pilot: true });
    expect(parseStagePercents('0, 10, 25, 50, 100')).toEqual({ percents: [0, 10, 25, 50, 100], pilot: false });
  });
  it.each(['10,10', '10,5', '0,pilot', '10,,20', '5,101', 'a,b', ''])('refuses %j', (raw) => {
    expect(codeOf(() => parseStagePercents(raw))).toBe('INVALID_STAGES');
  });
});

describe('parseCheck', () => {
  it('splits name, query and the last comparison', () => {
    expect(parseCheck('errors:sum(rate(x[5m]))<0.01')).toEqual({ name: 'errors', query: 'sum(rate(x[5m]))', op: '<', threshold: 0.01 });
    expect(parseCheck('p99:histogram_quantile(0.99, sum by (le) (rate(h{job="api"}[5m]))) <= 0.5')).toMatchObject({
      name: 'p99',
      op: '<=',
      threshold: 0.5,
    });
    // PromQL with its own comparison and a colon in a label value keeps them in the query.
    expect(parseCheck('up:count(up{instance="a:9090"} > 0) >= 3')).toEqual({
      name: 'up',
      query: 'count(up{instance="a:9090"} > 0)',
      op: '>=',
      threshold: 3,
    });
    expect(parseCheck('neg:x > -1.5e-3').threshold).toBe(-0.0015);
  });
  it.each(['no-colon<1', ':x<1', 'bad name:x<1', 'n:x', 'n:x<', 'n:<1', 'n:x<abc'])('refuses %j', (raw) => {
    expect(codeOf(() => parseCheck(raw))).toBe('INVALID_CHECK');
  });
  it('takes check names as long as the control plane does, and no longer', () => {
    const longest = 'c'.repeat(CHECK_NAME_MAX_LENGTH);
    expect(parseCheck(`${longest}:x<1`).name).toBe(longest);
    expect(codeOf(() => parseCheck(`${longest}c:x<1`))).toBe('INVALID_CHECK');
  });
  it("refuses a --min-dwell over the control plane's maximum", () => {
    expect(stagesFromFlags([10], [], MIN_DWELL_SECONDS_MAX)[0]?.minDwellSeconds).toBe(MIN_DWELL_SECONDS_MAX);
    expect(codeOf(() => stagesFromFlags([10], [], MIN_DWELL_SECONDS_MAX + 1))).toBe('INVALID_DURATION');
  });
  it('refuses two checks with one name', () => {
    const c = parseCheck('e:x<1');
    expect(codeOf(() => stagesFromFlags([0, 10], [c, c], 0))).toBe('INVALID_CHECK');
    expect(stagesFromFlags([0, 10], [c], 60)).toEqual([
      { percent: 0, minDwellSeconds: 60, checks: [c] },
      { percent: 10, minDwellSeconds: 60, checks: [c] },
    ]);
  });
});

describe('parseDuration', () => {
  it('reads seconds, minutes and hours', () => {
    expect(parseDuration('30', 'x')).toBe(30);
    expect(parseDuration('30s', 'x')).toBe(30);
    expect(parseDuration('10m', 'x')).toBe(600);
    expect(parseDuration('2h', 'x')).toBe(7200);
  });
  it.each(['-1', '1d', '1.5m', 'soon'])('refuses %j', (raw) => {
    expect(codeOf(() => parseDuration(raw, '--interval'))).toBe('INVALID_DURATION');
  });
});

describe('plans', () => {
  it('takes a stage list or {stages, analysis}, with checks as objects or strings', () => {
    const plan = parsePlan(
      {
        stages: [
          { percent: 0, minDwellSeconds: 3600, checks: ['errors:x<0.01'] },
          { percent: 50, checks: [{ name: 'p99', query: 'y', op: '<', threshold: 0.5 }] },
        ],
        analysis: { intervalSeconds: 30, noData: 'hold' },
      },
      'plan.json',
    );
    expect(plan.stages).toEqual([
      { percent: 0, minDwellSeconds: 3600, checks: [{ name: 'errors', query: 'x', op: '<', threshold: 0.01 }] },
      { percent: 50, minDwellSeconds: 0, checks: [{ name: 'p99', query: 'y', op: '<', threshold: 0.5 }] },
    ]);
    expect(plan.analysis).toEqual({ intervalSeconds: 30, noData: 'hold' });
    expect(parsePlan([{ percent: 100 }], 'p').stages).toHaveLength(1);
  });
  it.each([
    [{}, 'stages'],
    [{ stages: [] }, 'stages'],
    [{ stages: [{ percent: 101 }] }, 'stages[0].percent'],
    [{ stages: [{ percent: 10 }, { percent: 10 }] }, undefined],
    [{ stages: [{ percent: 10, minDwellSeconds: -5 }] }, 'stages[0].minDwellSeconds'],
    [{ stages: [{ percent: 10, minDwellSeconds: MIN_DWELL_SECONDS_MAX + 1 }] }, 'stages[0].minDwellSeconds'],
    [
      { stages: [{ percent: 10, checks: [{ name: 'c'.repeat(CHECK_NAME_MAX_LENGTH + 1), query: 'q', op: '<', threshold: 1 }] }] },
      'stages[0].checks[0].name',
    ],
    [{ stages: [{ percent: 10 }], analysis: { failureLimit: 0 } }, 'analysis.failureLimit'],
    [{ stages: [{ percent: 10, checks: [{ name: 'a', query: 'q', op: '==', threshold: 1 }] }] }, 'stages[0].checks[0].op'],
    [{ stages: [{ percent: 10 }], analysis: { noData: 'maybe' } }, 'analysis.noData'],
  ])('refuses %j', (doc, at) => {
    try {
      parsePlan(doc, 'plan.json');
      throw new Error('did not throw');
    } catch (err) {
      expect((err as CliError).code).toMatch(/^INVALID_(PLAN|STAGES)$/);
      if (at) expect((err as CliError).details).toEqual({ path: at });
    }
  });
});

describe('exclusion files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'orgplane-exclude-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads ids one a line, comma separated, with comments and blank lines', () => {
    expect(parseOrgIdList('5\n3, 4\n\n# vip\n9 # big one\r\n3\n', 'f')).toEqual([3, 4, 5, 9]);
  });
  it('names the line of a bad token', () => {
    try {
      parseOrgIdList('1\n2\nacme-corp\n', 'vip.txt');
      throw new Error('did not throw');
    } catch (err) {
      expect((err as CliError).code).toBe('INVALID_EXCLUDE_FILE');
      expect((err as CliError).message).toContain('vip.txt:3');
      expect((err as CliError).exitCode).toBe(2);
    }
    expect(codeOf(() => parseOrgIdList('-4', 'f'))).toBe('INVALID_EXCLUDE_FILE');
    expect(codeOf(() => parseOrgIdList('9007199254740992', 'f'))).toBe('INVALID_EXCLUDE_FILE');
  });
  it('a missing file or plan is a named error', async () => {
    await expect(readOrgIdFile(path.join(dir, 'nope.txt'))).rejects.toMatchObject({ code: 'EXCLUDE_FILE_UNREADABLE', exitCode: 2 });
    await expect(readPlan(path.join(dir, 'nope.json'))).rejects.toMatchObject({ code: 'PLAN_FILE_UNREADABLE', exitCode: 2 });
    await writeFile(path.join(dir, 'bad.json'), '{"stages": [');
    await expect(readPlan(path.join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'INVALID_PLAN', exitCode: 2 });
  });
});
