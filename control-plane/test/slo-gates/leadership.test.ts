// The gate worker acts only while it holds the lock: an instance that loses its lock
// connection in the middle of a tick (another instance may take over at once) must not
// record analyses or apply decisions from that tick.
import pg from 'pg';
import { expect, test } from 'vitest';
import { type GateDecision, type GatePort, type GateRollout, GateWorker } from '../../src/features/slo-gates/GateWorker.js';
import { createLogger } from '../../src/logger.js';
import { freshDatabase, LogCapture } from '../helpers.js';

const due: GateRollout = {
  flag: 'leader-lost',
  mode: 'automatic',
  onFailure: 'pause',
  analysis: { intervalSeconds: 1, failureLimit: 1, minSamples: 0, noData: 'hold' },
  stages: [
    { percent: 10, minDwellSeconds: 0, checks: [] },
    { percent: 100, minDwellSeconds: 0, checks: [] },
  ],
  status: 'running',
  stageIndex: 0,
  stageStartedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 3,
};

async function terminateLockSession(databaseUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ done: boolean }>(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
        WHERE application_name = 'orgplane-gate-worker' AND datname = current_database()`,
    );
    expect(rows.map((r) => r.done)).toEqual([true]);
  } finally {
    await admin.end();
  }
}

test('a worker that loses its lock connection mid-tick applies no decision from that tick', async () => {
  const databaseUrl = await freshDatabase();
  const applied: GateDecision[] = [];
  let loseLockOnRecord = true;
  const worker: GateWorker = new GateWorker({
    databaseUrl,
    prometheus: null,
    log: createLogger({ logLevel: 'warn' }, new LogCapture()),
    tickMs: 3_600_000,
    port: {
      dueRollouts: async () => [due],
      recordAnalyses: async () => {
        // The lock's session is killed while the tick runs (a failover, an admin's
        // pg_terminate_backend): the worker may not have heard of it yet.
        if (loseLockOnRecord) await terminateLockSession(databaseUrl);
      },
      stageAnalyses: async () => [],
      applyGateDecision: async (decision) => {
        applied.push(decision);
      },
    } satisfies GatePort,
  });
  try {
    await worker.tick();
    expect(worker.isLeader).toBe(false);
    expect(applied).toEqual([]);
    // With the lock back, the same rollout is decided as usual (the test can fail).
    loseLockOnRecord = false;
    await worker.tick();
    expect(worker.isLeader).toBe(true);
    expect(applied.map((d) => d.action)).toEqual(['advance']);
  } finally {
    await worker.stop();
  }
});
