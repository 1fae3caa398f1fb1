// SLO gates end to end: a real service whose request and error counters a real
// Prometheus scrapes every second, a control plane whose gate worker reads them, and
// rollouts that advance, pause and roll back on what it reads.

import type { PrometheusServer } from '@orgplane/embedded';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Fixture, type Json, startFixture, waitFor } from '../helpers.js';
import { type MetricsService, requirePrometheus, startMetricsService, waitForSample } from './helpers.js';

const ERROR_RATIO = 'sum(rate(svc_errors_total[10s])) / sum(rate(svc_requests_total[10s]))';
const errorCheck = { name: 'error-rate', query: ERROR_RATIO, op: '<', threshold: 0.001 };

let service: MetricsService;
let prometheus: PrometheusServer;
let f: Fixture;

beforeAll(async () => {
  service = await startMetricsService();
  prometheus = await requirePrometheus([service.target]);
  f = await startFixture({
    env: { ORGPLANE_PROMETHEUS_URL: prometheus.url, ORGPLANE_GATE_TICK_MS: '200' },
    build: { gateWorker: true },
  });
  service.startTraffic(25, 240);
  await waitForSample(prometheus.url, `${ERROR_RATIO} == 0`, 30_000);
});

afterAll(async () => {
  await f?.close();
  await prometheus?.stop();
  await service?.close();
});

async function rollout(flag: string): Promise<Json> {
  const res = await f.api.get(`/v1/rollouts/${flag}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function create(body: Json): Promise<Json> {
  const res = await f.api.post('/v1/rollouts', body);
  if (res.status !== 201) throw new Error(`creating ${body.flag}: ${res.status} ${res.text}`);
  return res.body;
}

async function advance(flag: string): Promise<Json> {
  const res = await f.api.post(`/v1/rollouts/${flag}/advance`, {});
  if (res.status !== 200) throw new Error(`advancing ${flag}: ${res.status} ${res.text}`);
  return res.body;
}

async function gateAudits(flag: string): Promise<Json[]> {
  const res = await f.api.get('/v1/audit?action=rollout.gate&limit=100');
  expect(res.status).toBe(200);
  return res.body.entries.filter((e: Json) => e.after?.flag === flag);
}

async function analyses(flag: string): Promise<Json[]> {
  const res = await f.api.get(`/v1/rollouts/${flag}/analyses?limit=500`);
  expect(res.status).toBe(200);
  return res.body.analyses;
}

describe('a failing service', () => {
  test('an automatic rollout advances while its checks hold; when the service fails it pauses, a manual one rolls back', async () => {
    const analysis = { intervalSeconds: 1, failureLimit: 3, minSamples: 2, noData: 'hold' };
    await create({
      flag: 'gate-auto',
      mode: 'automatic',
      onFailure: 'pause',
      analysis,
      stages: [
        { percent: 5, minDwellSeconds: 2, checks: [errorCheck] },
        { percent: 50, minDwellSeconds: 3600, checks: [errorCheck] },
        { percent: 100, minDwellSeconds: 0, checks: [] },
      ],
    });
    await create({
      flag: 'gate-manual',
      mode: 'manual',
      onFailure: 'rollback',
      analysis,
      stages: [
        { percent: 10, minDwellSeconds: 0, checks: [errorCheck] },
        { percent: 50, minDwellSeconds: 0, checks: [errorCheck] },
        { percent: 100, minDwellSeconds: 0, checks: [] },
      ],
    });
    await advance('gate-auto');
    await advance('gate-manual');
    await advance('gate-manual');

    // Healthy: the automatic rollout moves to stage 1 after its 2 s dwell and 2 passing samples.
    await waitFor('gate-auto to advance to stage 1', async () => (await rollout('gate-auto')).stageIndex === 1, 30_000);
    const advanced = await gateAudits('gate-auto');
    expect(advanced).toHaveLength(1);
    expect(advanced[0]).toMatchObject({
      actor: 'slo-gate',
      action: 'rollout.gate',
      after: { stageIndex: 1, gate: { decision: 'advance' } },
    });
    expect(advanced[0].reason).toMatch(/latest analysis passed/);
    const stage0 = (await analyses('gate-auto')).filter((a) => a.stageIndex === 0);
    expect(stage0.length).toBeGreaterThanOrEqual(2);
    for (const a of stage0)
      expect(a).toMatchObject({ check: 'error-rate', query: ERROR_RATIO, value: 0, threshold: 0.001, op: '<', outcome: 'pass' });

    // Manual mode is evaluated too, but never advances by itself.
    await waitFor('passing analyses of gate-manual', async () => (await analyses('gate-manual')).length >= 3, 20_000);
    expect(await rollout('gate-manual')).toMatchObject({ status: 'running', stageIndex: 1 });

    service.fail();
    const failedAt = service.failingSince!;
    const decided: Record<string, number> = {};
    await waitFor(
      'both rollouts to be decided',
      async () => {
        for (const flag of ['gate-auto', 'gate-manual']) {
          if (decided[flag] === undefined && (await rollout(flag)).status !== 'running') decided[flag] = Date.now() - failedAt;
        }
        return Object.keys(decided).length === 2;
      },
      90_000,
    );
    service.recover();
    // Interval x failureLimit is 3 s; the 10 s rate window and the 1 s scrape come on top.
    console.log(
      JSON.stringify({ figure: 'slo_gate_failure_to_decision_ms', ...decided, intervalTimesLimitMs: 3000, rateWindowMs: 10_000 }),
    );

    expect(await rollout('gate-auto')).toMatchObject({ status: 'paused', stageIndex: 1, percent: 50 });
    expect(await rollout('gate-manual')).toMatchObject({ status: 'paused', stageIndex: 0, percent: 10 });

    for (const [flag, decision] of [
      ['gate-auto', 'pause'],
      ['gate-manual', 'rollback'],
    ] as const) {
      const [latest] = await gateAudits(flag);
      expect(latest).toMatchObject({ actor: 'slo-gate', after: { gate: { decision } } });
      expect(latest.reason).toMatch(/3 consecutive failed analyses \(failureLimit 3\)/);
      const round = latest.after.gate.analyses;
      expect(round).toHaveLength(1);
      expect(round[0]).toMatchObject({ check: 'error-rate', outcome: 'fail', threshold: 0.001, op: '<' });
      expect(round[0].value).toBeGreaterThan(0.001);
      // The three failing rounds that decided it are on record, newest first.
      const recorded = await analyses(flag);
      expect(recorded.slice(0, 3).map((a) => a.outcome)).toEqual(['fail', 'fail', 'fail']);
      expect(recorded[0].value).toBeGreaterThan(0.001);
    }

    // A paused rollout is no longer evaluated.
    const count = (await analyses('gate-auto')).length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await analyses('gate-auto')).length).toBe(count);

    const metrics = await f.api.get('/metrics');
    expect(metrics.text).toMatch(/orgplane_gate_evaluations_total\{outcome="fail"\} [1-9]/);
    expect(metrics.text).toMatch(/orgplane_gate_decisions_total\{action="pause"\} 1/);
    expect(metrics.text).toMatch(/orgplane_gate_decisions_total\{action="rollback"\} 1/);
    expect(metrics.text).toMatch(/orgplane_gate_worker_leader 1/);
  }, 180_000);
});

describe('no data', () => {
  test('a metric that does not exist: pass advances, fail pauses, hold waits', async () => {
    const missing = { name: 'missing', query: 'sum(rate(svc_no_such_metric_total[10s]))', op: '<', threshold: 1 };
    for (const noData of ['pass', 'fail', 'hold']) {
      await create({
        flag: `nodata-${noData}`,
        mode: 'automatic',
        onFailure: 'pause',
        analysis: { intervalSeconds: 1, failureLimit: 2, minSamples: 2, noData },
        stages: [
          { percent: 10, minDwellSeconds: 1, checks: [missing] },
          { percent: 50, minDwellSeconds: 3600, checks: [missing] },
          { percent: 100, minDwellSeconds: 0, checks: [] },
        ],
      });
      await advance(`nodata-${noData}`);
    }
    await waitFor('nodata-pass to advance', async () => (await rollout('nodata-pass')).stageIndex === 1, 30_000);
    await waitFor('nodata-fail to pause', async () => (await rollout('nodata-fail')).status === 'paused', 30_000);
    await waitFor('4 analyses of nodata-hold', async () => (await analyses('nodata-hold')).length >= 4, 30_000);
    expect(await rollout('nodata-hold')).toMatchObject({ status: 'running', stageIndex: 0 });
    expect(await gateAudits('nodata-hold')).toHaveLength(0);
    expect(await rollout('nodata-fail')).toMatchObject({ status: 'paused', stageIndex: 0 });
    for (const flag of ['nodata-pass', 'nodata-fail', 'nodata-hold']) {
      for (const a of await analyses(flag)) {
        expect(a).toMatchObject({ check: 'missing', value: null, outcome: 'no-data', message: 'the query returned no series' });
      }
    }
    const [failed] = await gateAudits('nodata-fail');
    expect(failed).toMatchObject({ after: { gate: { decision: 'pause', analyses: [{ outcome: 'no-data' }] } } });
  }, 120_000);
});

describe('bad input', () => {
  test('malformed PromQL is 400 INVALID_PROMQL and creates nothing', async () => {
    const before = await f.sql('SELECT (SELECT count(*) FROM audit_log) AS audits, (SELECT max(version) FROM config_changes) AS version');
    // Balanced brackets, so only Prometheus can tell: a dangling operator, a counter without a range.
    for (const query of ['sum(rate(svc_errors_total[10s])) /', 'rate(svc_errors_total)']) {
      const res = await f.api.post('/v1/rollouts', {
        flag: 'bad-promql',
        stages: [{ percent: 10, minDwellSeconds: 0, checks: [{ name: 'broken', query, op: '<', threshold: 1 }] }],
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_PROMQL', details: { query } });
      expect(res.body.error.message).toMatch(/parse error/);
    }
    // An unclosed bracket is refused before Prometheus is asked (rollouts' own shape check),
    // under the same code as Prometheus's refusals.
    const unbalanced = await f.api.post('/v1/rollouts', {
      flag: 'bad-promql',
      stages: [{ percent: 10, minDwellSeconds: 0, checks: [{ name: 'broken', query: 'sum(rate(x[10s])', op: '<', threshold: 1 }] }],
    });
    expect(unbalanced.status).toBe(400);
    expect(unbalanced.body.error).toMatchObject({ code: 'INVALID_PROMQL', details: { query: 'sum(rate(x[10s])' } });
    expect((await f.api.get('/v1/rollouts/bad-promql')).status).toBe(404);
    expect(await f.sql('SELECT (SELECT count(*) FROM audit_log) AS audits, (SELECT max(version) FROM config_changes) AS version')).toEqual(
      before,
    );
  });

  test('a range vector is not one sample: INVALID_PROMQL', async () => {
    const res = await f.api.post('/v1/rollouts', {
      flag: 'range-vector',
      stages: [{ percent: 10, minDwellSeconds: 0, checks: [{ name: 'r', query: 'svc_requests_total[1m]', op: '<', threshold: 1 }] }],
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_PROMQL', details: { query: 'svc_requests_total[1m]' } });
    expect((await f.api.get('/v1/rollouts/range-vector')).status).toBe(404);
  });

  test('analyses of a rollout that does not exist: 404 ROLLOUT_NOT_FOUND', async () => {
    const res = await f.api.get('/v1/rollouts/nope/analyses');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('ROLLOUT_NOT_FOUND');
  });
});
