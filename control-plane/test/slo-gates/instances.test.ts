// The gate worker across instances (one runs it, another takes over), a Prometheus that
// goes away, and a control plane that has none.

import type { PrometheusServer } from '@orgplane/embedded';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ControlPlane } from '../../src/app.js';
import { type Json, startFixture, startInstance, waitFor } from '../helpers.js';
import { requirePrometheus } from './helpers.js';

const alwaysZero = { name: 'zero', query: 'vector(0)', op: '<', threshold: 1 };

let prometheus: PrometheusServer;

beforeAll(async () => {
  prometheus = await requirePrometheus([]);
});

afterAll(async () => {
  await prometheus?.stop();
});

function plan(flag: string, extra: Json = {}): Json {
  return {
    flag,
    mode: 'manual',
    onFailure: 'pause',
    analysis: { intervalSeconds: 1, failureLimit: 2, minSamples: 1, noData: 'hold' },
    stages: [
      { percent: 10, minDwellSeconds: 0, checks: [alwaysZero] },
      { percent: 100, minDwellSeconds: 0, checks: [] },
    ],
    ...extra,
  };
}

describe('several instances', () => {
  test('one instance runs the gates; when it goes, another takes over and the analyses go on', async () => {
    // The fixture's own instance serves the API without a gate worker; two more run one each.
    const env = { ORGPLANE_PROMETHEUS_URL: prometheus.url, ORGPLANE_GATE_TICK_MS: '100' };
    const f = await startFixture({ env, build: { gateWorker: false } });
    const withGates = { gateWorker: true };
    const others: ControlPlane[] = [await startInstance(f.databaseUrl, withGates, env), await startInstance(f.databaseUrl, withGates, env)];
    try {
      expect(f.cp.gates).toBeNull();
      await waitFor('a gate worker to take the lock', () => others.some((cp) => cp.gates?.isLeader));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(others.filter((cp) => cp.gates?.isLeader)).toHaveLength(1);

      expect((await f.api.post('/v1/rollouts', plan('takeover'))).status).toBe(201);
      expect((await f.api.post('/v1/rollouts/takeover/advance', {})).status).toBe(200);
      const count = async () => (await f.sql("SELECT count(*)::int AS n FROM rollout_analyses WHERE flag = 'takeover'"))[0].n as number;
      await waitFor('analyses of takeover', async () => (await count()) >= 2);

      const leader = others.find((cp) => cp.gates?.isLeader)!;
      others.splice(others.indexOf(leader), 1);
      await leader.close();
      await waitFor('the other instance to take the lock', () => others[0]!.gates!.isLeader);
      const after = await count();
      await waitFor('analyses to go on', async () => (await count()) >= after + 2);
      const rows = await f.sql("SELECT outcome FROM rollout_analyses WHERE flag = 'takeover'");
      expect(new Set(rows.map((r: Json) => r.outcome))).toEqual(new Set(['pass']));
    } finally {
      for (const cp of others) await cp.close();
      await f.close();
    }
  });
});

describe('Prometheus unreachable', () => {
  test('checks are errors: noData fail counts them as failures and pauses, hold waits; new rollouts are refused 503', async () => {
    const own = await requirePrometheus([]);
    const f = await startFixture({ env: { ORGPLANE_PROMETHEUS_URL: own.url, ORGPLANE_GATE_TICK_MS: '100' }, build: { gateWorker: true } });
    try {
      for (const noData of ['fail', 'hold', 'pass']) {
        const body = plan(`down-${noData}`, { mode: 'automatic' });
        body.analysis.noData = noData;
        expect((await f.api.post('/v1/rollouts', body)).status).toBe(201);
      }
      await own.stop();
      for (const noData of ['fail', 'hold', 'pass']) expect((await f.api.post(`/v1/rollouts/down-${noData}/advance`, {})).status).toBe(200);

      const rollout = async (flag: string) => (await f.api.get(`/v1/rollouts/${flag}`)).body;
      await waitFor('down-fail to pause', async () => (await rollout('down-fail')).status === 'paused', 20_000);
      await waitFor('3 analyses of down-hold and down-pass', async () => {
        const n = await f.sql(
          "SELECT flag, count(*)::int AS n FROM rollout_analyses WHERE flag IN ('down-hold', 'down-pass') GROUP BY flag",
        );
        return n.length === 2 && n.every((r: Json) => r.n >= 3);
      });
      // An error is never a pass: with noData pass or hold the stage neither advances nor fails.
      expect(await rollout('down-hold')).toMatchObject({ status: 'running', stageIndex: 0 });
      expect(await rollout('down-pass')).toMatchObject({ status: 'running', stageIndex: 0 });
      const analyses = (await f.api.get('/v1/rollouts/down-fail/analyses')).body.analyses;
      expect(analyses.length).toBeGreaterThanOrEqual(2);
      for (const a of analyses) {
        expect(a).toMatchObject({ check: 'zero', value: null, outcome: 'error' });
        expect(a.message).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer/);
      }

      const before = await f.sql('SELECT count(*)::int AS n FROM audit_log');
      const res = await f.api.post('/v1/rollouts', plan('while-down'));
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('PROMETHEUS_UNAVAILABLE');
      expect((await f.api.get('/v1/rollouts/while-down')).status).toBe(404);
      expect(await f.sql('SELECT count(*)::int AS n FROM audit_log')).toEqual(before);
    } finally {
      await f.close();
      await own.stop();
    }
  });
});

describe('no Prometheus configured', () => {
  test('checks are stored unvalidated and evaluated as errors that never pass; the log says why', async () => {
    const f = await startFixture({ env: { ORGPLANE_GATE_TICK_MS: '100' }, build: { gateWorker: true } });
    try {
      const body = plan('no-prometheus', { mode: 'automatic' });
      expect((await f.api.post('/v1/rollouts', body)).status).toBe(201);
      expect(f.log.text).toMatch(/ORGPLANE_PROMETHEUS_URL is not set: this check is stored unvalidated/);
      expect((await f.api.post('/v1/rollouts/no-prometheus/advance', {})).status).toBe(200);
      await waitFor('3 analyses', async () => (await f.api.get('/v1/rollouts/no-prometheus/analyses')).body.analyses.length >= 3);
      const { analyses } = (await f.api.get('/v1/rollouts/no-prometheus/analyses')).body;
      for (const a of analyses) {
        expect(a).toMatchObject({ value: null, outcome: 'error', message: 'no Prometheus is configured (ORGPLANE_PROMETHEUS_URL)' });
      }
      // noData hold: an automatic stage whose checks cannot be read does not advance.
      expect((await f.api.get('/v1/rollouts/no-prometheus')).body).toMatchObject({ status: 'running', stageIndex: 0 });
    } finally {
      await f.close();
    }
  });
});
