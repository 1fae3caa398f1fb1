// Stop everything the lab runs: the control plane, then replicas, primaries and the
// control DB (each tier in parallel); optionally delete the lab's data.
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isControlPlaneRunning, stopControlPlane } from './controlPlaneProcess.js';
import { LabError } from './errors.js';
import { fleetOf, isRunning, type LabServer } from './fleet.js';
import { postgresProcessesUnder, waitUntilReaped } from './processes.js';
import { CONTROL_DB_ID, CONTROL_PLANE_ID, hasState, type LabState, labPaths, readState, resolveLabDir, writeState } from './state.js';

export interface LabDownResult {
  stopped: string[];
  purged: boolean;
}

export async function labDown(opts: { dir?: string; purge?: boolean } = {}): Promise<LabDownResult> {
  const dir = resolveLabDir(opts.dir);
  const paths = labPaths(dir);
  const state = hasState(dir) ? await readState(dir).catch((err) => (opts.purge ? null : Promise.reject(err))) : null;
  const stopped = state ? await stopLab(dir, state) : [];

  const left = postgresProcessesUnder(dir);
  if (state && isControlPlaneRunning(state.controlPlane.pid)) left.push(state.controlPlane.pid);
  if (left.length) {
    throw new LabError(
      'LAB_DOWN_FAILED',
      `lab processes still run out of ${dir} (pids ${left.join(', ')})`,
      `stop them with \`kill ${left.join(' ')}\`, then run \`orgplane lab down\` again`,
    );
  }
  if (state && !opts.purge) await writeState(dir, { ...state, controlPlane: { ...state.controlPlane, pid: null } });

  let purged = false;
  if (opts.purge) {
    if (existsSync(dir)) {
      if (!hasState(dir) && readdirSync(dir).length > 0) {
        throw new LabError(
          'LAB_NOT_A_LAB',
          `${dir} is not a lab directory (it has no state.json); refusing to delete it`,
          'check the lab directory you passed',
        );
      }
      await rm(dir, { recursive: true, force: true });
      purged = true;
    }
    await rm(paths.context, { force: true });
  }
  return { stopped, purged };
}

async function stopLab(dir: string, state: LabState): Promise<string[]> {
  const stopped: string[] = [];
  const pids: number[] = [];
  if (await stopControlPlane(state.controlPlane.pid)) {
    stopped.push(CONTROL_PLANE_ID);
    if (state.controlPlane.pid !== null) pids.push(state.controlPlane.pid);
  }
  const fleet = fleetOf(dir, state);
  const tiers: LabServer[][] = [
    fleet.clusters.flatMap((c) => c.replicas),
    fleet.clusters.map((c) => ({ id: c.id, server: c.primary })),
    [{ id: CONTROL_DB_ID, server: fleet.controlDb }],
  ];
  for (const tier of tiers) {
    const running = tier.filter((s) => isRunning(s.server));
    for (const s of running) {
      const pid = s.server.pid();
      if (pid !== null) pids.push(pid);
    }
    await Promise.all(running.map((s) => s.server.stop('fast')));
    stopped.push(...running.map((s) => s.id));
  }
  // So that `ps` right after `lab down` shows nothing of the lab, not even exit records.
  await waitUntilReaped(pids, 3000);
  return stopped;
}
