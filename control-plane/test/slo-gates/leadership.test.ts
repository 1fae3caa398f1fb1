// The gate worker acts only while it holds the lock: an instance that loses its lock
// connection in the middle of a tick (another instance may take over at once) must not
// record analyses or apply decisions from that tick.
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
        // What pg does when the lock's connection breaks while the tick runs.
        if (loseLockOnRecord)
          (worker as unknown as { client: { emit(e: string, err: Error): void } }).client.emit('error', new Error('terminated'));
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
