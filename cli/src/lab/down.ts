// Stop everything the lab runs: Prometheus, the control plane, then replicas, primaries
// and the control DB (each tier in parallel); optionally delete the lab's data.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isControlPlaneRunning, stopControlPlane } from './controlPlaneProcess.js';
import { LabError } from './errors.js';
import { fleetOf, isRunning, type LabServer, primariesOf, replicasOf } from './fleet.js';
import { postgresProcessesUnder, processesUnder, waitUntilReaped } from './processes.js';
import { PROMETHEUS_ID, stopPrometheus } from './prometheusProcess.js';
import { CONTROL_PLANE_ID, hasState, type LabState, labPaths, readState, resolveLabDir, writeState } from './state.js';
import { runQuietly, type Step, type StepRunner } from './steps.js';
import { stopTenantApi } from './tenantApiProcess.js';

export interface LabDownResult {
  stopped: string[];
  purged: boolean;
}

export interface LabDownOptions {
  /** Default: <cwd>/.orgplane/lab. */
  dir?: string;
  purge?: boolean;
  /** Runs the steps, e.g. as a live view; default: quietly. */
  runSteps?: StepRunner;
}

export async function labDown(opts: LabDownOptions = {}): Promise<LabDownResult> {
  const dir = resolveLabDir(opts.dir);
  const paths = labPaths(dir);
  const state = hasState(dir) ? await readState(dir).catch((err) => (opts.purge ? null : Promise.reject(err))) : null;
  const stopped: string[] = [];
  const pids: number[] = [];
  const runSteps = opts.runSteps ?? runQuietly;
  await runSteps(state ? stopSteps(dir, state, stopped, pids) : []);
  // So that `ps` right after `lab down` shows nothing of the lab, not even exit records.
  await waitUntilReaped(pids, 3000);

  const left = [...postgresProcessesUnder(dir), ...processesUnder(dir, PROMETHEUS_COMMAND)];
  if (state && isControlPlaneRunning(state.controlPlane.pid)) left.push(state.controlPlane.pid);
  if (left.length) {
    throw new LabError(
      'LAB_DOWN_FAILED',
      `lab processes still run out of ${dir} (pids ${left.join(', ')})`,
      `stop them with \`kill ${left.join(' ')}\`, then run \`orgplane lab down\` again`,
    );
  }
  if (state && !opts.purge) {
    await writeState(dir, {
      ...state,
      controlPlane: { ...state.controlPlane, pid: null },
      ...(state.prometheus ? { prometheus: { ...state.prometheus, pid: null } } : {}),
    });
  }

  let purged = false;
  if (opts.purge && (existsSync(dir) || existsSync(paths.context))) {
    await runSteps([
      {
        title: 'Delete the lab data',
        async run() {
          purged = await purge(dir);
          if (state && contextIsOf(paths.context, state)) await rm(paths.context, { force: true });
        },
      },
    ]);
  }
  return { stopped, purged };
}

/** A `prometheus` binary as the first word of a command line (its config path names the lab dir). */
const PROMETHEUS_COMMAND = /^(\S*\/)?prometheus\s/;

/** Prometheus, the control plane, then replicas, primaries and the control DB: each tier in parallel. */
function stopSteps(dir: string, state: LabState, stopped: string[], pids: number[]): Step[] {
  const fleet = fleetOf(dir, state);
  const stopTier = (title: string, tier: LabServer[]): Step => ({
    title,
    async run(report) {
      const running = tier.filter((s) => isRunning(s.server));
      if (running.length === 0) return report.skip('not running');
      for (const s of running) {
        const pid = s.server.pid();
        if (pid !== null) pids.push(pid);
      }
      // One server that fails to stop must not keep the next tiers running: stop the
      // rest, and let the check for leftover processes name what still runs.
      const results = await Promise.allSettled(running.map((s) => s.server.stop('fast')));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') stopped.push(running[i]!.id);
        else report.output(`${running[i]!.id} did not stop: ${(r.reason as Error).message}`);
      });
    },
  });
  const [controlDb, ...primaries] = primariesOf(fleet);
  const replicas = replicasOf(fleet);
  return [
    {
      title: 'Stop the tenant API',
      async run(report) {
        const ids = await stopTenantApi(state);
        if (ids.length === 0) return report.skip('not running');
        stopped.push(...ids);
      },
    },
    {
      // First, so that it records no failed scrapes of a control plane on its way down.
      title: 'Stop Prometheus',
      async run(report) {
        const pid = state.prometheus?.pid;
        if (!(await stopPrometheus(dir, pid))) return report.skip('not running');
        stopped.push(PROMETHEUS_ID);
        pids.push(pid!);
      },
    },
    {
      title: 'Stop the control plane',
      async run(report) {
        if (!(await stopControlPlane(state.controlPlane.pid))) return report.skip('not running');
        stopped.push(CONTROL_PLANE_ID);
        pids.push(state.controlPlane.pid!);
      },
    },
    ...(replicas.length ? [stopTier(replicas.length === 1 ? 'Stop the replica' : `Stop ${replicas.length} replicas`, replicas)] : []),
    stopTier(primaries.length === 1 ? 'Stop the primary' : `Stop ${primaries.length} primaries`, primaries),
    stopTier('Stop the control DB', [controlDb!]),
  ];
}

/** Deletes the lab directory, but never a directory that is not a lab. */
async function purge(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return false;
  if (!hasState(dir) && readdirSync(dir).length > 0) {
    throw new LabError(
      'LAB_NOT_A_LAB',
      `${dir} is not a lab directory (it has no state.json); refusing to delete it`,
      'check the lab directory you passed',
    );
  }
  await rm(dir, { recursive: true, force: true });
  return true;
}

/** The saved CLI context points at this lab (it sits beside the lab dir, so another lab may have written it). */
function contextIsOf(file: string, state: LabState): boolean {
  try {
    const ctx = JSON.parse(readFileSync(file, 'utf8')) as { token?: unknown };
    return state.controlPlane.token !== null && ctx.token === state.controlPlane.token;
  } catch {
    return false;
  }
}
