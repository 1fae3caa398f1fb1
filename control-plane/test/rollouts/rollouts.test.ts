// Rollouts over HTTP against a real control DB: creation, every transition of the
// state machine, bad input that changes nothing, audit rows, and what runtimes get
// (snapshot and watch deltas carry `rollouts` and the pilot `cohorts`).
import { CHECK_NAME_MAX_LENGTH, GROUP_ID_MAX_LENGTH, MIN_DWELL_SECONDS_MAX } from '@orgplane/control-plane/api/rules';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidPromqlError } from '../../src/errors.js';
import { ArrayOrgStatsSource, type OrgStats } from '../../src/features/cohorts/OrgStatsSource.js';
import { RolloutService } from '../../src/features/rollouts/RolloutService.js';
import { type Fixture, type Json, startFixture } from '../helpers.js';
import { SseClient } from '../sseClient.js';

const NOW = new Date('2026-01-15T00:00:00Z');
const ORGS: OrgStats[] = Array.from({ length: 200 }, (_, i) => ({
  orgId: 1000 + i,
  sizeRows: (i % 5) * 40,
  lastActiveAt: new Date(NOW.getTime() - (i % 3) * 10 * 86_400_000),
}));

let f: Fixture;
let url: string;
const open: SseClient[] = [];

beforeAll(async () => {
  f = await startFixture({ build: { cohorts: { statsSource: async () => new ArrayOrgStatsSource(ORGS), now: () => NOW } } });
  url = await f.cp.app.listen({ host: '127.0.0.1', port: 0 });
});
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});
afterAll(async () => {
  await f?.close();
});

const PLAN = [
  { percent: 0, minDwellSeconds: 60, checks: [{ name: 'errors', query: 'sum(rate(http_errors_total[5m]))', op: '<', threshold: 0.01 }] },
  { percent: 10 },
  { percent: 25 },
  { percent: 50 },
  { percent: 100 },
];

async function state(): Promise<{ version: number; rollouts: number; audit: number; analyses: number; rows: Json[] }> {
  const [row] = await f.sql(
    `SELECT (SELECT version::int FROM config_version) AS version, (SELECT count(*)::int FROM rollouts) AS rollouts,
            (SELECT count(*)::int FROM audit_log) AS audit, (SELECT count(*)::int FROM rollout_analyses) AS analyses`,
  );
  return { ...row, rows: await f.sql('SELECT * FROM rollouts ORDER BY flag') };
}

async function expectUnchanged(before: Awaited<ReturnType<typeof state>>): Promise<void> {
  expect(await state()).toEqual(before);
}

async function create(flag: string, extra: Json = {}): Promise<Json> {
  const res = await f.api.as(f.tokens.rollout).post('/v1/rollouts', { flag, stages: PLAN, ...extra });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

const post = (flag: string, verb: string, body: Json = {}) => f.api.as(f.tokens.rollout).post(`/v1/rollouts/${flag}/${verb}`, body);

describe('POST /v1/rollouts', () => {
  it('creates a rollout paused at stage -1 (off), with defaults, and audits it', async () => {
    const before = await state();
    const rollout = await create('new-checkout', { description: 'the new checkout', reason: 'Q1 launch' });
    expect(rollout).toMatchObject({
      flag: 'new-checkout',
      description: 'the new checkout',
      groupId: 'new-checkout',
      pilotCohort: null,
      mode: 'manual',
      onFailure: 'pause',
      analysis: { intervalSeconds: 60, failureLimit: 1, minSamples: 1, noData: 'hold' },
      status: 'paused',
      stageIndex: -1,
      percent: 0,
      enabled: false,
      stageStartedAt: null,
      version: before.version + 1,
    });
    expect(rollout.stages[1]).toEqual({ percent: 10, minDwellSeconds: 0, checks: [] });
    expect(rollout.stages[0].checks[0]).toEqual(PLAN[0]!.checks![0]);
    const [entry] = (await f.api.get('/v1/audit?action=rollout.create&limit=1')).body.entries;
    expect(entry).toMatchObject({ actor: 'test-rollout', reason: 'Q1 launch', before: null, version: before.version + 1 });
    expect(entry.after.flag).toBe('new-checkout');
    expect((await f.api.as(f.tokens['sdk:read']).get('/v1/rollouts/new-checkout')).body).toMatchObject({
      flag: 'new-checkout',
      analyses: [],
    });
  });

  it('puts every rollout into the config snapshot as a WireRollout', async () => {
    const snapshot = (await f.api.as(f.tokens['sdk:read']).get('/v1/config')).body;
    expect(snapshot.rollouts).toContainEqual({
      flag: 'new-checkout',
      groupId: 'new-checkout',
      enabled: false,
      percent: 0,
      pilotCohort: null,
    });
  });

  it('refuses bad input with named errors and changes nothing', async () => {
    await create('taken');
    const before = await state();
    const bad = async (body: Json, code: string, status = 400) => {
      const res = await f.api.post('/v1/rollouts', body);
      expect(res.status, res.text).toBe(status);
      expect(res.body.error.code).toBe(code);
      return res.body.error;
    };
    expect((await bad({ flag: 'x1', stages: [{ percent: 101 }] }, 'INVALID_INPUT')).details[0].field).toBe('stages[0].percent');
    await bad({ flag: 'x1', stages: [{ percent: -1 }] }, 'INVALID_INPUT');
    await bad({ flag: 'x1', stages: [{ percent: 2.5 }] }, 'INVALID_INPUT');
    const notIncreasing = await bad({ flag: 'x1', stages: [{ percent: 10 }, { percent: 50 }, { percent: 50 }] }, 'INVALID_INPUT');
    expect(notIncreasing.details).toEqual([{ field: 'stages[2].percent', message: expect.stringContaining('greater than') }]);
    await bad({ flag: 'x1', stages: [{ percent: 50 }, { percent: 10 }] }, 'INVALID_INPUT');
    await bad({ flag: 'x1', stages: [] }, 'INVALID_INPUT');
    await bad({ flag: 'x1' }, 'INVALID_INPUT');
    await bad({ flag: 'bad flag', stages: [{ percent: 10 }] }, 'INVALID_INPUT');
    await bad({ flag: 'x1', stages: [{ percent: 10 }], mode: 'yolo' }, 'INVALID_INPUT');
    // The rules the CLI and the runtime share (@orgplane/control-plane/api/rules, runtime/src/wire.ts), one past each bound.
    const longGroup = await bad({ flag: 'x1', stages: [{ percent: 10 }], groupId: 'g'.repeat(GROUP_ID_MAX_LENGTH + 1) }, 'INVALID_INPUT');
    expect(longGroup.details[0].field).toBe('groupId');
    const longCheck = { name: 'c'.repeat(CHECK_NAME_MAX_LENGTH + 1), query: 'up', op: '<', threshold: 1 };
    await bad({ flag: 'x1', stages: [{ percent: 10, checks: [longCheck] }] }, 'INVALID_INPUT');
    await bad({ flag: 'x1', stages: [{ percent: 10, minDwellSeconds: MIN_DWELL_SECONDS_MAX + 1 }] }, 'INVALID_INPUT');
    await bad(
      { flag: 'x1', stages: [{ percent: 10, checks: [{ name: 'e', query: 'sum(rate(x[5m])', op: '<', threshold: 1 }] }] },
      'INVALID_PROMQL',
    );
    await bad({ flag: 'x1', stages: [{ percent: 10, checks: [{ name: 'e', query: 'up', op: '!=', threshold: 1 }] }] }, 'INVALID_INPUT');
    await bad({ flag: 'x1', stages: [{ percent: 10 }], pilotCohort: 'nobody' }, 'COHORT_NOT_FOUND', 404);
    await bad({ flag: 'taken', stages: [{ percent: 10 }] }, 'ALREADY_EXISTS', 409);
    await expectUnchanged(before);
  });

  it('refuses a NUL character (which Postgres cannot store) with 400 INVALID_INPUT, not 500, changing nothing', async () => {
    const before = await state();
    const cohorts = await f.sql('SELECT count(*)::int AS n FROM cohorts');
    const nul = 'x\u0000y';
    const refused = [
      await f.api.post('/v1/rollouts', { flag: 'nul1', description: nul, stages: [{ percent: 1 }] }),
      await f.api.post('/v1/rollouts', { flag: 'nul2', reason: nul, stages: [{ percent: 1 }] }),
      await f.api.post('/v1/rollouts', {
        flag: 'nul3',
        stages: [{ percent: 1, checks: [{ name: 'c', query: `up${nul}`, op: '<', threshold: 1 }] }],
      }),
      await post('taken', 'advance', { reason: nul }),
      await f.api.post('/v1/pilot/select', { name: 'nul-pilot', count: 2, seed: 1, reason: nul }),
    ];
    for (const res of refused) {
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
    }
    // In a path it can only name nothing.
    expect((await f.api.get('/v1/rollouts/a%00b')).status).not.toBe(500);
    expect((await f.api.get('/v1/cohorts/a%00b')).status).not.toBe(500);
    await expectUnchanged(before);
    expect(await f.sql('SELECT count(*)::int AS n FROM cohorts')).toEqual(cohorts);
  });

  it('runs a pluggable query validator before anything changes (INVALID_PROMQL)', async () => {
    const before = await state();
    const seen: string[] = [];
    const service = new RolloutService(f.cp.services.db, {
      validateQuery: async (query) => {
        seen.push(query);
        if (query.includes('nope')) throw new InvalidPromqlError(query, 'parse error');
      },
    });
    const actor = { name: 'test', tokenId: null, scope: 'admin' as const };
    const stages = [
      { percent: 5, checks: [{ name: 'a', query: 'up', op: '>' as const, threshold: 0 }] },
      { percent: 10, checks: [{ name: 'b', query: 'nope(', op: '<' as const, threshold: 1 }] },
    ];
    await expect(
      service.create(actor, {
        flag: 'validated',
        stages: [stages[0]!, { percent: 10, checks: [{ name: 'b', query: 'nope{}', op: '<', threshold: 1 }] }],
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_PROMQL',
      details: { query: 'nope{}' },
    });
    expect(seen).toEqual(['up', 'nope{}']);
    // 'nope(' is malformed before Prometheus is asked: the same code, and no validator call.
    await expect(service.create(actor, { flag: 'validated', stages })).rejects.toMatchObject({ code: 'INVALID_PROMQL' });
    expect(seen).toEqual(['up', 'nope{}']);
    await expectUnchanged(before);
  });

  it('needs the rollout or admin scope to write, and a config-reading scope to read', async () => {
    const before = await state();
    for (const scope of ['operator', 'sdk:read'] as const) {
      expect((await f.api.as(f.tokens[scope]).post('/v1/rollouts', { flag: 'x2', stages: [{ percent: 1 }] })).status).toBe(403);
      expect((await f.api.as(f.tokens[scope]).post('/v1/rollouts/taken/kill', {})).status).toBe(403);
    }
    expect((await f.api.as(undefined).get('/v1/rollouts')).status).toBe(401);
    expect((await f.api.as(f.tokens['sdk:read']).get('/v1/rollouts')).status).toBe(200);
    expect((await f.api.as(f.tokens.operator).get('/v1/rollouts/taken')).status).toBe(200);
    await expectUnchanged(before);
  });
});

describe('the stage machine', () => {
  it('advance enters each stage: percent, enabled, running, stageStartedAt; the last one completes', async () => {
    await create('walk');
    const r0 = (await post('walk', 'advance', { reason: 'pilot' })).body;
    expect(r0).toMatchObject({ status: 'running', stageIndex: 0, percent: 0, enabled: true });
    expect(r0.stageStartedAt).toEqual(expect.any(String));
    const r1 = (await post('walk', 'advance')).body;
    expect(r1).toMatchObject({ status: 'running', stageIndex: 1, percent: 10, enabled: true, version: r0.version + 1 });
    await post('walk', 'advance');
    await post('walk', 'advance');
    const last = (await post('walk', 'advance')).body;
    expect(last).toMatchObject({ status: 'completed', stageIndex: 4, percent: 100, enabled: true });
    const before = await state();
    const again = await post('walk', 'advance');
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: 'INVALID_ROLLOUT_STATE',
      details: { flag: 'walk', status: 'completed', stageIndex: 4 },
    });
    await expectUnchanged(before);
  });

  it('set overrides the percent; stageIndex becomes the last stage at or below it; audited before/after', async () => {
    await create('manual');
    const r = (await post('manual', 'set', { percent: 30, reason: 'hotfix verified' })).body;
    expect(r).toMatchObject({ stageIndex: 2, percent: 30, enabled: true, status: 'paused' });
    const [entry] = (await f.api.get('/v1/audit?action=rollout.set&limit=1')).body.entries;
    expect(entry).toMatchObject({
      reason: 'hotfix verified',
      before: { percent: 0, stageIndex: -1 },
      after: { percent: 30, stageIndex: 2 },
    });
    expect((await post('manual', 'set', { percent: 10 })).body).toMatchObject({ stageIndex: 1, percent: 10 });
    expect((await post('manual', 'set', { percent: 100 })).body).toMatchObject({ stageIndex: 4, percent: 100, status: 'completed' });
    expect((await post('manual', 'set', { percent: 0 })).body).toMatchObject({ stageIndex: 0, percent: 0, enabled: true });
    expect((await post('manual', 'advance')).body).toMatchObject({ stageIndex: 1, percent: 10, status: 'running' });
    // From running, an override keeps it running.
    expect((await post('manual', 'set', { percent: 60 })).body).toMatchObject({ stageIndex: 3, percent: 60, status: 'running' });
  });

  it('refuses a percent outside 0..100 and unknown flags, changing nothing', async () => {
    const before = await state();
    for (const percent of [101, -1, 1.5, '50', null]) {
      const res = await post('manual', 'set', { percent });
      expect(res.status, String(percent)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
    }
    expect((await post('manual', 'set', {})).body.error.code).toBe('INVALID_INPUT');
    expect((await post('manual', 'advance', { bogus: 1 })).body.error.code).toBe('INVALID_INPUT');
    for (const verb of ['set', 'advance', 'pause', 'resume', 'rollback', 'kill']) {
      const res = await post('no-such-flag', verb, verb === 'set' ? { percent: 5 } : {});
      expect(res.status, verb).toBe(404);
      expect(res.body.error.code).toBe('ROLLOUT_NOT_FOUND');
    }
    expect((await f.api.get('/v1/rollouts/no-such-flag')).body.error.code).toBe('ROLLOUT_NOT_FOUND');
    expect((await f.api.get('/v1/rollouts/no-such-flag/analyses')).body.error.code).toBe('ROLLOUT_NOT_FOUND');
    await expectUnchanged(before);
  });

  it('pause keeps serving the current percent; resume continues; each refuses the wrong state', async () => {
    await create('pausing');
    const before = await state();
    expect((await post('pausing', 'resume')).body.error).toMatchObject({
      code: 'INVALID_ROLLOUT_STATE',
      hint: expect.stringContaining('advance'),
    });
    expect((await post('pausing', 'pause')).body.error.code).toBe('INVALID_ROLLOUT_STATE');
    expect((await post('pausing', 'rollback')).body.error.code).toBe('INVALID_ROLLOUT_STATE');
    await expectUnchanged(before);
    await post('pausing', 'advance');
    await post('pausing', 'advance');
    const paused = (await post('pausing', 'pause')).body;
    expect(paused).toMatchObject({ status: 'paused', stageIndex: 1, percent: 10, enabled: true });
    expect((await post('pausing', 'resume')).body).toMatchObject({ status: 'running', stageIndex: 1, percent: 10 });
  });

  it('rollback goes one stage back, and from stage 0 to off', async () => {
    await create('back');
    await post('back', 'advance');
    await post('back', 'advance');
    await post('back', 'advance');
    expect((await post('back', 'rollback')).body).toMatchObject({ stageIndex: 1, percent: 10, enabled: true, status: 'paused' });
    expect((await post('back', 'rollback')).body).toMatchObject({ stageIndex: 0, percent: 0, enabled: true });
    expect((await post('back', 'rollback')).body).toMatchObject({ stageIndex: -1, percent: 0, enabled: false, status: 'rolled_back' });
    expect((await post('back', 'rollback')).body.error.code).toBe('INVALID_ROLLOUT_STATE');
    expect((await post('back', 'advance')).body).toMatchObject({ stageIndex: 0, status: 'running', enabled: true });
  });

  it('kill turns the flag off everywhere and keeps the stage; resume after kill is explicit and audited', async () => {
    await create('killme');
    await post('killme', 'advance');
    await post('killme', 'advance');
    const killed = (await post('killme', 'kill', { reason: 'errors spiking' })).body;
    expect(killed).toMatchObject({ status: 'killed', enabled: false, stageIndex: 1, percent: 10 });
    const snapshot = (await f.api.get('/v1/config')).body;
    expect(snapshot.rollouts.find((r: Json) => r.flag === 'killme')).toEqual({
      flag: 'killme',
      groupId: 'killme',
      enabled: false,
      percent: 10,
      pilotCohort: null,
    });
    const before = await state();
    expect((await post('killme', 'kill')).body.error).toMatchObject({ code: 'INVALID_ROLLOUT_STATE', details: { status: 'killed' } });
    expect((await post('killme', 'pause')).body.error.code).toBe('INVALID_ROLLOUT_STATE');
    expect((await post('killme', 'rollback')).body.error.code).toBe('INVALID_ROLLOUT_STATE');
    await expectUnchanged(before);
    const resumed = (await post('killme', 'resume', { reason: 'fixed' })).body;
    expect(resumed).toMatchObject({ status: 'running', enabled: true, stageIndex: 1, percent: 10 });
    const [entry] = (await f.api.get('/v1/audit?action=rollout.resume&limit=1')).body.entries;
    expect(entry).toMatchObject({
      reason: 'fixed',
      before: { status: 'killed', enabled: false },
      after: { status: 'running', enabled: true },
    });
    await post('killme', 'kill');
    expect((await post('killme', 'advance')).body).toMatchObject({ status: 'running', stageIndex: 2, percent: 25, enabled: true });
  });

  it('honours expectedVersion (409, nothing changed)', async () => {
    const before = await state();
    const res = await post('killme', 'pause', { expectedVersion: before.version - 1 });
    expect(res.body.error.code).toBe('VERSION_CONFLICT');
    await expectUnchanged(before);
    expect((await post('killme', 'pause', { expectedVersion: before.version })).body.status).toBe('paused');
  });
});

describe('pilot cohorts in rollouts', () => {
  it('POST /v1/rollouts with an unknown pilot cohort is 404 COHORT_NOT_FOUND', async () => {
    const res = await f.api.post('/v1/rollouts', { flag: 'p0', stages: [{ percent: 0 }], pilotCohort: 'ghost' });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'COHORT_NOT_FOUND', details: { cohort: 'ghost' } });
  });

  it('a rollout naming a pilot sends the cohort once in the watch delta and in every snapshot', async () => {
    const selected = await f.api.as(f.tokens.rollout).post('/v1/pilot/select', { name: 'pilot-a', count: 20, seed: 7 });
    expect(selected.status, selected.text).toBe(201);
    await f.api.post('/v1/pilot/select', { name: 'unused', count: 5, seed: 8 });
    const members: number[] = (await f.api.get('/v1/cohorts/pilot-a')).body.orgIds;
    expect(members).toHaveLength(20);

    const [{ version }] = await f.sql('SELECT version::int FROM config_version');
    const client = await SseClient.open(url, f.tokens['sdk:read'], { since: version });
    open.push(client);
    const rollout = await create('piloted', { pilotCohort: 'pilot-a', groupId: 'checkout:v2' });
    const event = await client.next();
    expect(event.event).toBe('change');
    expect(event.data.action).toBe('rollout.create');
    expect(event.data.rollouts).toContainEqual({
      flag: 'piloted',
      groupId: 'checkout:v2',
      enabled: false,
      percent: 0,
      pilotCohort: 'pilot-a',
    });
    expect(event.data.cohorts).toEqual({ upsert: [{ name: 'pilot-a', orgIds: members }], remove: [] });
    expect(rollout.version).toBe(version + 1);

    // A second rollout on the same pilot does not resend it.
    await create('piloted-2', { pilotCohort: 'pilot-a' });
    const second = await client.next();
    expect(second.data.cohorts).toBeUndefined();

    await post('piloted', 'advance');
    const advance = await client.next();
    expect(advance.data).toMatchObject({ action: 'rollout.advance' });
    expect(advance.data.rollouts.find((r: Json) => r.flag === 'piloted')).toMatchObject({ enabled: true, percent: 0 });

    const snapshot = (await f.api.as(f.tokens['sdk:read']).get('/v1/config')).body;
    expect(snapshot.cohorts).toEqual([{ name: 'pilot-a', orgIds: members }]);

    // A watcher with no version starts from a snapshot that carries both.
    const fresh = await SseClient.open(url, f.tokens['sdk:read']);
    open.push(fresh);
    const first = await fresh.next();
    expect(first.event).toBe('snapshot');
    expect(first.data.cohorts).toEqual([{ name: 'pilot-a', orgIds: members }]);
    expect(first.data.rollouts.map((r: Json) => r.flag)).toContain('piloted');
  });

  it('kill reaches a watcher as a rollouts delta', async () => {
    const [{ version }] = await f.sql('SELECT version::int FROM config_version');
    const client = await SseClient.open(url, f.tokens['sdk:read'], { since: version });
    open.push(client);
    await post('piloted', 'kill');
    const event = await client.next();
    expect(event.data.action).toBe('rollout.kill');
    expect(event.data.rollouts.find((r: Json) => r.flag === 'piloted')).toMatchObject({ enabled: false });
  });
});

describe('the service API the SLO gates build on', () => {
  it('lists automatic running rollouts due for analysis, records analyses, and applies gate decisions as rollout.gate', async () => {
    const gated = await create('gated', { mode: 'automatic', onFailure: 'rollback', analysis: { intervalSeconds: 30, minSamples: 2 } });
    expect(gated.analysis).toEqual({ intervalSeconds: 30, failureLimit: 1, minSamples: 2, noData: 'hold' });
    const rollouts = f.cp.services.rollouts;
    expect((await rollouts.dueForAnalysis()).map((r) => r.flag)).not.toContain('gated');
    await post('gated', 'advance');
    expect((await rollouts.dueForAnalysis()).map((r) => r.flag)).toContain('gated');

    const analysis = {
      check: 'errors',
      query: 'sum(rate(http_errors_total[5m]))',
      value: 0.002,
      threshold: 0.01,
      op: '<' as const,
      outcome: 'pass' as const,
    };
    const before = await state();
    const stored = await rollouts.recordAnalyses('gated', 0, [
      analysis,
      { ...analysis, value: null, outcome: 'no-data', message: 'empty result' },
    ]);
    expect(stored).toHaveLength(2);
    // Recording is not a config change.
    expect((await state()).version).toBe(before.version);
    expect((await rollouts.dueForAnalysis()).map((r) => r.flag)).not.toContain('gated');

    const listed = (await f.api.as(f.tokens['sdk:read']).get('/v1/rollouts/gated/analyses')).body.analyses;
    expect(listed[0]).toMatchObject({ stageIndex: 0, check: 'errors', value: null, outcome: 'no-data', message: 'empty result' });
    expect(listed[1]).toMatchObject({ value: 0.002, threshold: 0.01, op: '<', outcome: 'pass', at: expect.any(String) });
    expect(listed[1].message).toBeUndefined();
    expect((await f.api.get(`/v1/rollouts/gated/analyses?limit=1&before=${listed[0].id}`)).body.analyses).toEqual([listed[1]]);
    expect((await f.api.get('/v1/rollouts/gated')).body.analyses).toHaveLength(2);

    const advanced = await rollouts.applyGateDecision('gated', {
      decision: 'advance',
      reason: 'all checks passed',
      analyses: stored,
      expectedStageIndex: 0,
    });
    expect(advanced).toMatchObject({ stageIndex: 1, percent: 10, status: 'running' });
    const [entry] = (await f.api.get('/v1/audit?action=rollout.gate&limit=1')).body.entries;
    expect(entry).toMatchObject({ actor: 'slo-gate', reason: 'all checks passed', before: { stageIndex: 0 }, after: { stageIndex: 1 } });
    expect(entry.after.gate.decision).toBe('advance');
    expect(entry.after.gate.analyses).toHaveLength(2);

    const stale = await state();
    await expect(
      rollouts.applyGateDecision('gated', { decision: 'rollback', reason: 'late', analyses: [], expectedStageIndex: 0 }),
    ).rejects.toMatchObject({ code: 'INVALID_ROLLOUT_STATE' });
    await expectUnchanged(stale);
    expect(await rollouts.applyGateDecision('gated', { decision: 'rollback', reason: 'errors over 1 %', analyses: [] })).toMatchObject({
      stageIndex: 0,
      status: 'paused',
    });
    await expect(rollouts.recordAnalyses('nope', 0, [])).rejects.toMatchObject({ code: 'ROLLOUT_NOT_FOUND' });
  });
});
