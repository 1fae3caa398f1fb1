// The rollout manager's commands end to end: the real `orgplane` binary against one real
// control plane (buildApp on a fresh control DB) whose one cluster is a real tenant
// database seeded with orgs, so pilot selection reads real rows. Every state change
// through the CLI, the runbook as written, bad input with its exit code and error
// document (and nothing changed), and a runtime following a kill.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, type ControlPlane, createApiToken, createLogger, loadConfig, type Scope } from '@orgplane/control-plane';
import { createTestDatabase } from '@orgplane/embedded';
import { createRuntime } from '@orgplane/runtime';
import { ORG_ID_MAX } from '@orgplane/runtime/wire';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runbookCommands, splitArgs } from '../../runbooks/commands.js';
import { seedOrgs } from '../src/lab/seed.js';
import { cliHarness, repoRoot, rowsOf } from './cliHarness.js';
import { waitFor } from './waitFor.js';

const ORGS = { first: 1, last: 400 };

let cp: ControlPlane;
let url: string;
let controlDb: string;
let dir: string;
const tokens = {} as Record<Scope, string>;

const { cli, ok, fails, api } = cliHarness(() => ({ dir, url, token: tokens.admin }));

/** Everything a refused command must leave as it was. */
function snapshot(): Promise<unknown> {
  return rowsOf(controlDb, {
    version: 'SELECT version::int FROM config_version',
    audit: 'SELECT count(*)::int AS n FROM audit_log',
    rollouts: 'SELECT * FROM rollouts ORDER BY flag',
    cohorts: 'SELECT name, size FROM cohorts ORDER BY name',
  });
}

beforeAll(async () => {
  const adminUrl = inject('pgAdminUrl');
  controlDb = await createTestDatabase(adminUrl, 'control-plane');
  const tenantDb = await createTestDatabase(adminUrl, 'tenant');
  await seedOrgs(tenantDb, ORGS.first, ORGS.last);
  for (const scope of ['admin', 'operator', 'rollout', 'sdk:read'] as const) {
    tokens[scope] = (await createApiToken(controlDb, { name: `cli-${scope}`, scope })).token;
  }
  const config = loadConfig({ ORGPLANE_DATABASE_URL: controlDb, ORGPLANE_LOG_LEVEL: 'warn' });
  cp = await buildApp(config, { logger: createLogger(config) });
  url = await cp.app.listen({ host: '127.0.0.1', port: 0 });
  // One cluster, the seeded tenant DB, serving every org.
  expect((await api('POST', '/v1/clusters', { id: 'primary-1', primary: { url: tenantDb } })).status).toBe(201);
  expect((await api('PUT', '/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }] })).status).toBe(200);
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-rollouts-e2e-'));
  await chmod(dir, 0o755);
}, 120_000);

afterAll(async () => {
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('orgplane rollouts, pilot and cohorts', () => {
  it('runs the rollout runbook as written', { timeout: 300_000 }, async () => {
    await writeFile(path.join(dir, 'runbook-vip-orgs.txt'), '# never first\n1, 2\n3\n');
    const text = await readFile(path.join(repoRoot, 'runbooks', 'rollout.md'), 'utf8');
    const lines = runbookCommands(text);
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      const res = await cli(splitArgs(line).slice(1));
      expect(res.exitCode, `${line}\n${res.stdout}\n${res.stderr}`).toBe(0);
    }
    const shown = await ok(['rollouts', 'show', 'new-invoices']);
    expect(shown).toMatchObject({ status: 'killed', enabled: false, pilotCohort: 'pilot-invoices' });
    const cohort = await ok(['cohorts', 'show', 'pilot-invoices', '--limit', '1000']);
    expect(cohort.size).toBe(20);
    for (const vip of [1, 2, 3]) expect(cohort.orgIds).not.toContain(vip);
    const csv = await readFile(path.join(dir, 'pilot-invoices.csv'), 'utf8');
    expect(csv).toBe(`org_id\n${cohort.orgIds.join('\n')}\n`);
  });

  it('create -> advance -> set -> pause -> resume -> rollback -> kill, each a new config version', { timeout: 300_000 }, async () => {
    await ok(['pilot', 'select', '--count', '10', '--seed', '1', '--name', 'pilot-life']);
    const created = await ok([
      'rollouts',
      'create',
      'life',
      '--stages',
      'pilot,10,25,50,100',
      '--pilot-cohort',
      'pilot-life',
      '--check',
      'errors:sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))<0.01',
      '--check',
      'p99:histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))<=0.5',
      '--min-dwell',
      '10m',
      '--mode',
      'automatic',
      '--on-failure',
      'rollback',
      '--interval',
      '30s',
      '--failure-limit',
      '3',
      '--min-samples',
      '5',
      '--no-data',
      'fail',
      '--description',
      'the life cycle',
    ]);
    expect(created).toMatchObject({
      flag: 'life',
      status: 'paused',
      stageIndex: -1,
      enabled: false,
      mode: 'automatic',
      onFailure: 'rollback',
      description: 'the life cycle',
      analysis: { intervalSeconds: 30, failureLimit: 3, minSamples: 5, noData: 'fail' },
    });
    expect(created.stages.map((s: { percent: number }) => s.percent)).toEqual([0, 10, 25, 50, 100]);
    expect(created.stages[2]).toMatchObject({ minDwellSeconds: 600 });
    expect(created.stages[2].checks).toEqual([
      {
        name: 'errors',
        query: 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
        op: '<',
        threshold: 0.01,
      },
      {
        name: 'p99',
        query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
        op: '<=',
        threshold: 0.5,
      },
    ]);

    let version = created.version;
    const step = async (args: string[], expected: Record<string, unknown>) => {
      const r = await ok(args);
      expect(r, args.join(' ')).toMatchObject(expected);
      expect(r.version, args.join(' ')).toBe(version + 1);
      version = r.version;
    };
    await step(['rollouts', 'advance', 'life', '--reason', 'go'], { status: 'running', stageIndex: 0, percent: 0, enabled: true });
    await step(['rollouts', 'advance', 'life'], { status: 'running', stageIndex: 1, percent: 10 });
    await step(['rollouts', 'set', 'life', '30'], { status: 'running', stageIndex: 2, percent: 30 });
    await step(['rollouts', 'pause', 'life', '--reason', 'look'], { status: 'paused', stageIndex: 2, percent: 30 });
    await step(['rollouts', 'resume', 'life'], { status: 'running', stageIndex: 2 });
    await step(['rollouts', 'rollback', 'life', '--yes'], { status: 'paused', stageIndex: 1, percent: 10, enabled: true });
    await step(['rollouts', 'kill', 'life', '--yes', '--reason', 'stop'], { status: 'killed', enabled: false });

    const list = await ok(['rollouts', 'list']);
    expect(list.rollouts.find((r: { flag: string }) => r.flag === 'life')).toMatchObject({ status: 'killed', version });
    const audit = await ok(['audit', 'list', '--limit', '8']);
    expect(audit.entries.slice(0, 7).map((e: { action: string }) => e.action)).toEqual([
      'rollout.kill',
      'rollout.rollback',
      'rollout.resume',
      'rollout.pause',
      'rollout.set',
      'rollout.advance',
      'rollout.advance',
    ]);
  });

  it('watch prints the state once without a terminal: stage, coverage from the pilot strata, checks', { timeout: 120_000 }, async () => {
    await ok(['pilot', 'select', '--count', '40', '--seed', '9', '--name', 'pilot-watch']);
    await ok(['rollouts', 'create', 'watched', '--stages', 'pilot,10,100', '--pilot-cohort', 'pilot-watch', '--check', 'errors:x<1']);
    await ok(['rollouts', 'advance', 'watched']);
    await ok(['rollouts', 'advance', 'watched']);
    const state = await ok(['rollouts', 'watch', 'watched']);
    expect(state).toMatchObject({
      flag: 'watched',
      status: 'running',
      stageIndex: 1,
      stageCount: 3,
      percent: 10,
      pilot: { cohort: 'pilot-watch', size: 40 },
      coverage: { population: ORGS.last - ORGS.first + 1, populationSource: 'pilot-strata', estimated: true },
      checks: [{ name: 'errors', query: 'x', op: '<', threshold: 1, value: null, outcome: 'pending' }],
      lastDecision: null,
    });
    expect(state.coverage.orgs).toBe(Math.round(40 + 360 * 0.1));
    // Without --json and without a terminal it is the same document: scripts get JSON.
    const plain = await cli(['rollouts', 'watch', 'watched']);
    expect(plain.exitCode).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ flag: 'watched', stageIndex: 1 });
    await fails(['rollouts', 'watch', 'nope'], 'ROLLOUT_NOT_FOUND', 4);

    // What the SLO gate records (through the service it uses): analyses, then a decision.
    const at = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    const check = { check: 'errors', query: 'x', threshold: 1, op: '<' as const };
    await cp.services.rollouts.recordAnalyses('watched', 1, [{ ...check, value: 0.25, outcome: 'pass', at: at(30) }]);
    const failed = await cp.services.rollouts.recordAnalyses('watched', 1, [
      { ...check, value: 2.5, outcome: 'fail', message: 'errors 2.5 is not < 1', at: at(1) },
    ]);
    await cp.services.rollouts.applyGateDecision('watched', { decision: 'pause', reason: '1 consecutive failure', analyses: failed });
    const gated = await ok(['rollouts', 'watch', 'watched']);
    expect(gated).toMatchObject({
      status: 'paused',
      checks: [{ name: 'errors', value: 2.5, outcome: 'fail', message: 'errors 2.5 is not < 1' }],
      lastDecision: { source: 'gate', action: 'pause', outcome: 'fail', stageIndex: 1, check: 'errors', message: '1 consecutive failure' },
    });
    // A rollout token may not read the audit log: the decision is inferred from the analyses.
    const inferred = await ok(['rollouts', 'watch', 'watched'], { token: tokens.rollout });
    expect(inferred.lastDecision).toMatchObject({ source: 'analyses', action: null, outcome: 'fail', check: 'errors' });
  });

  it('pilot select is stratified, deterministic for a seed, honours exclusions; export streams every page', {
    timeout: 300_000,
  }, async () => {
    const exclude = path.join(dir, 'exclude.txt');
    await writeFile(exclude, '10,11,12\n13\n\n# and\n14\n');
    const a = await ok(['pilot', 'select', '--count', '60', '--seed', '5', '--name', 'pilot-a', '--exclude', exclude]);
    expect(a.cohort).toEqual({ name: 'pilot-a', size: 60, seed: 5 });
    const strata = a.strata as { population: number; selected: number }[];
    expect(strata.reduce((n, s) => n + s.selected, 0)).toBe(60);
    expect(strata.reduce((n, s) => n + s.population, 0)).toBe(ORGS.last - ORGS.first + 1 - 5);
    const b = await ok(['pilot', 'select', '--count', '60', '--seed', '5', '--name', 'pilot-b', '--exclude', exclude]);
    const c = await ok(['pilot', 'select', '--count', '60', '--seed', '6', '--name', 'pilot-c']);
    expect(b.strata).toEqual(a.strata);

    const ids = async (name: string) => (await ok(['cohorts', 'export', name, '--page-size', '7'])).orgIds as number[];
    const idsA = await ids('pilot-a');
    expect(idsA).toHaveLength(60);
    expect(idsA).toEqual([...idsA].sort((x, y) => x - y));
    expect(await ids('pilot-b')).toEqual(idsA);
    expect(await ids('pilot-c')).not.toEqual(idsA);
    for (const excluded of [10, 11, 12, 13, 14]) expect(idsA).not.toContain(excluded);
    expect(c.cohort.size).toBe(60);

    const list = await ok(['cohorts', 'list']);
    expect(list.cohorts.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(['pilot-a', 'pilot-b', 'pilot-c']));
    const page = await ok(['cohorts', 'show', 'pilot-a', '--limit', '5', '--after', String(idsA[4])]);
    expect(page.orgIds).toEqual(idsA.slice(5, 10));

    const csvFile = path.join(dir, 'a.csv');
    const summary = await ok(['cohorts', 'export', 'pilot-a', '--output', csvFile, '--page-size', '7']);
    expect(summary).toEqual({ name: 'pilot-a', size: 60, seed: 5, exported: 60, format: 'csv', output: csvFile });
    expect(await readFile(csvFile, 'utf8')).toBe(`org_id\n${idsA.join('\n')}\n`);
    const jsonFile = path.join(dir, 'a.json');
    await ok(['cohorts', 'export', 'pilot-a', '--output', jsonFile, '--page-size', '13']);
    expect(JSON.parse(await readFile(jsonFile, 'utf8'))).toEqual({ name: 'pilot-a', size: 60, seed: 5, orgIds: idsA });
    // Without --output and --json: CSV on stdout, nothing else.
    const plain = await cli(['cohorts', 'export', 'pilot-a', '--page-size', '50']);
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toBe(`org_id\n${idsA.join('\n')}`);

    // People see how each stratum is represented.
    const human = await cli(['pilot', 'select', '--count', '10', '--seed', '5', '--name', 'pilot-human']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toContain('cohort pilot-human: 10 orgs (seed 5)');
    expect(human.stdout).toMatch(/SIZE\s+ACTIVITY\s+POPULATION\s+SELECTED\s+POPULATION SHARE\s+COHORT SHARE\s+SKEW/);
  });

  it('refuses bad input with a named error and exit code, and changes nothing', { timeout: 300_000 }, async () => {
    await ok(['rollouts', 'create', 'guarded', '--stages', '0,50,100']);
    await ok(['rollouts', 'advance', 'guarded']);
    const badExclude = path.join(dir, 'bad-exclude.txt');
    await writeFile(badExclude, '1\n2,3\nacme\n');
    const notIncreasing = path.join(dir, 'not-increasing.json');
    await writeFile(notIncreasing, JSON.stringify({ stages: [{ percent: 10 }, { percent: 10 }] }));
    const before = await snapshot();

    const cases: Case[] = [
      ...['101', '-1', 'abc', '1.5'].map((p): Case => [['rollouts', 'set', 'guarded', p], 'INVALID_PERCENT', 2]),
      [['rollouts', 'set', 'nope', '10'], 'ROLLOUT_NOT_FOUND', 4],
      [['rollouts', 'advance', 'nope'], 'ROLLOUT_NOT_FOUND', 4],
      [['rollouts', 'show', 'nope'], 'ROLLOUT_NOT_FOUND', 4],
      [['rollouts', 'create', 'x1', '--stages', '0,10', '--pilot-cohort', 'nope'], 'COHORT_NOT_FOUND', 4],
      [['cohorts', 'show', 'nope'], 'COHORT_NOT_FOUND', 4],
      [['cohorts', 'export', 'nope', '--output', path.join(dir, 'nope.csv')], 'COHORT_NOT_FOUND', 4],
      [['rollouts', 'create', 'x2', '--stages', '10,5'], 'INVALID_STAGES', 2],
      [['rollouts', 'create', 'x3', '--stages', '0,10,10'], 'INVALID_STAGES', 2],
      [['rollouts', 'create', 'x4', '--stages', '0,10,101'], 'INVALID_STAGES', 2],
      [['rollouts', 'create', 'x5', '--plan', notIncreasing], 'INVALID_STAGES', 2],
      [['rollouts', 'create', 'x6', '--stages', 'pilot,10'], 'PILOT_COHORT_REQUIRED', 2],
      [['rollouts', 'create', 'x7', '--stages', '0,10', '--check', 'no comparison'], 'INVALID_CHECK', 2],
      [['rollouts', 'create', 'x8', '--stages', '0,10', '--plan', notIncreasing], 'INVALID_ARGUMENTS', 2],
      [['rollouts', 'create', 'x9'], 'INVALID_ARGUMENTS', 2],
      [['rollouts', 'create', 'bad/flag', '--stages', '0,10'], 'INVALID_INPUT', 2],
      [['rollouts', 'create', 'guarded', '--stages', '0,10'], 'ALREADY_EXISTS', 5],
      [['rollouts', 'kill', 'guarded'], 'CONFIRMATION_REQUIRED', 2],
      [['rollouts', 'rollback', 'guarded'], 'CONFIRMATION_REQUIRED', 2],
      [['rollouts', 'resume', 'guarded'], 'INVALID_ROLLOUT_STATE', 5],
      [['pilot', 'select', '--count', '5', '--seed', '1', '--name', 'pilot-x', '--exclude', badExclude], 'INVALID_EXCLUDE_FILE', 2],
      [['pilot', 'select', '--count', '5', '--seed', '1', '--exclude', path.join(dir, 'missing.txt')], 'EXCLUDE_FILE_UNREADABLE', 2],
      [['pilot', 'select', '--count', '0', '--seed', '1'], 'INVALID_ARGUMENTS', 2],
      // Scopes: an operator reads rollouts but changes none; sdk:read neither; a rollout token cannot touch the map.
      [['rollouts', 'set', 'guarded', '10'], 'FORBIDDEN', 3, { token: tokens.operator }],
      [['pilot', 'select', '--count', '5', '--seed', '1'], 'FORBIDDEN', 3, { token: tokens.operator }],
      [['rollouts', 'kill', 'guarded', '--yes'], 'FORBIDDEN', 3, { token: tokens['sdk:read'] }],
      [['shards', 'split', '--at', '5000'], 'FORBIDDEN', 3, { token: tokens.rollout }],
      [['rollouts', 'list'], 'UNAUTHORIZED', 3, { token: 'op_nope_nope' }],
    ];
    // A few at a time: each is a Node process starting oclif.
    await inBatches(cases, 4, ([args, code, exit, opts]) => fails(args, code, exit, opts));
    expect((await ok(['rollouts', 'list'], { token: tokens['sdk:read'] })).rollouts.length).toBeGreaterThan(0);
    expect((await ok(['rollouts', 'show', 'guarded'], { token: tokens.operator })).flag).toBe('guarded');

    // The server refuses the same percentages by itself, whoever calls it.
    for (const percent of [101, -1, 'abc', 1.5]) {
      const res = await api('POST', '/v1/rollouts/guarded/set', { percent });
      expect(res.status, JSON.stringify(percent)).toBe(400);
      expect((res.body.error as { code: string }).code).toBe('INVALID_INPUT');
    }
    const res = await api('POST', '/v1/rollouts', { flag: 'x10', stages: [{ percent: 50 }, { percent: 25 }] });
    expect(res.status).toBe(400);

    expect(await snapshot()).toEqual(before);
  });

  it('people get the error code and what to try next on stderr', async () => {
    const res = await cli(['rollouts', 'set', 'guarded', '250']);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain('INVALID_PERCENT');
    expect(res.stderr).toContain('Try: a percentage is a whole number from 0 to 100');
    const missing = await cli(['rollouts', 'advance', 'nope']);
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toContain('ROLLOUT_NOT_FOUND');
    expect(missing.stderr).toContain('orgplane rollouts list');
  });

  it('a runtime follows set and kill made with the CLI', async () => {
    await ok(['rollouts', 'create', 'followed', '--stages', '0,100']);
    const runtime = createRuntime({ url, token: tokens['sdk:read'], cacheDir: path.join(dir, 'runtime-cache') });
    try {
      await runtime.ready(10_000);
      expect(runtime.isEnabled('followed', { orgId: 42 })).toBe(false);
      const on = await ok(['rollouts', 'set', 'followed', '100']);
      await waitFor(`the runtime at version ${on.version}`, () => (runtime.version ?? 0) >= on.version);
      expect(runtime.isEnabled('followed', { orgId: 42 })).toBe(true);
      const killed = await ok(['rollouts', 'kill', 'followed', '--yes']);
      await waitFor(`the runtime at version ${killed.version}`, () => (runtime.version ?? 0) >= killed.version);
      expect(runtime.isEnabled('followed', { orgId: 42 })).toBe(false);
    } finally {
      await runtime.close();
    }
  });

  // Last: it registers a cluster nobody can reach.
  it('pilot select names the cluster it cannot read, says what to check, and stores nothing', async () => {
    const added = await api('POST', '/v1/clusters', { id: 'primary-9', primary: { url: 'postgres://app@127.0.0.1:9/app' } });
    expect(added.status).toBe(201);
    const before = await snapshot();
    const error = await fails(['pilot', 'select', '--count', '5', '--seed', '1', '--name', 'pilot-unreachable'], 'CLUSTER_UNREACHABLE', 1);
    expect(error.details).toEqual({ clusterId: 'primary-9' });
    expect(error.hint).toContain('orgplane clusters list');
    expect(await snapshot()).toEqual(before);
  });
});

type Case = [args: string[], code: string, exitCode: number, opts?: { token?: string }];

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}
