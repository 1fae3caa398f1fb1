// `labUp`: create the lab on first use, afterwards restart whatever of it stopped.
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { DEFAULT_CONFIG, type LabConfig, validateConfig } from './config.js';
import { controlPlaneMain, isControlPlaneRunning } from './controlPlaneProcess.js';
import { createLab } from './create.js';
import { LabError } from './errors.js';
import { fleetOf } from './fleet.js';
import {
  catchUpSteps,
  ensurePrometheusSlot,
  guard,
  nothingLaunched,
  saveContext,
  startControlPlane,
  startPostgresSteps,
  startPrometheusStep,
} from './launch.js';
import { CONTROL_PLANE_ID, hasState, type LabState, labPaths, readState, resolveLabDir } from './state.js';
import { type LabPresent, statusOf } from './status.js';
import { logged, logTo, runQuietly, type StepRunner } from './steps.js';
import { startTenantApiStep } from './tenantApiProcess.js';

export interface LabUpOptions extends Partial<LabConfig> {
  /** Default: <cwd>/.orgplane/lab. */
  dir?: string;
  /** Runs the steps, e.g. as a live view; default: quietly (lab.log has them either way). */
  runSteps?: StepRunner;
}

export type LabUpResult = LabPresent & { alreadyRunning: boolean; started: string[] };

export async function labUp(opts: LabUpOptions = {}): Promise<LabUpResult> {
  validateConfig(opts);
  const dir = resolveLabDir(opts.dir);
  if (hasState(dir)) {
    const state = await readState(dir);
    assertSameConfig(dir, state, opts);
    if (state.phase !== 'ready') {
      throw new LabError(
        'LAB_INCOMPLETE',
        `the lab in ${dir} was never finished (an earlier \`lab up\` failed or was interrupted)`,
        'run `orgplane lab down --purge`, then `orgplane lab up`',
      );
    }
    return resume(dir, state, opts.runSteps ?? runQuietly);
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new LabError('LAB_NOT_A_LAB', `${dir} is not empty and holds no lab`, 'choose an empty or new directory for the lab');
  }
  const config: LabConfig = {
    orgs: opts.orgs ?? DEFAULT_CONFIG.orgs,
    clusters: opts.clusters ?? DEFAULT_CONFIG.clusters,
    replicas: opts.replicas ?? DEFAULT_CONFIG.replicas,
  };
  const main = controlPlaneMain();
  await mkdir(dir, { recursive: true });
  // Postgres runs as another OS user when we are root: it must be able to enter the lab dir.
  await chmod(dir, 0o755);
  return createLab(dir, config, main, opts.runSteps ?? runQuietly);
}

function assertSameConfig(dir: string, state: LabState, asked: Partial<LabConfig>): void {
  const keys = (['orgs', 'clusters', 'replicas'] as const).filter((k) => asked[k] !== undefined && asked[k] !== state[k]);
  if (keys.length === 0) return;
  throw new LabError(
    'LAB_CONFIG_MISMATCH',
    `the lab in ${dir} has ${keys.map((k) => `${k}=${state[k]}`).join(', ')}, not ${keys.map((k) => `${k}=${asked[k]}`).join(', ')}`,
    'run `orgplane lab down --purge` first to replace it, or leave out the flags to use it as it is',
  );
}

async function resume(dir: string, state: LabState, runSteps: StepRunner): Promise<LabUpResult> {
  const fleet = fleetOf(dir, state);
  const launched = nothingLaunched();
  const log = logTo(labPaths(dir).labLog);
  const main = isControlPlaneRunning(state.controlPlane.pid) ? null : controlPlaneMain();
  // Before the control plane starts: it is told Prometheus's URL.
  await ensurePrometheusSlot(state);
  return guard(dir, launched, false, log, async () => {
    await runSteps(
      logged(
        [
          ...startPostgresSteps(fleet, launched),
          {
            title: 'Start the control plane',
            async run(report) {
              if (!main) return report.skip('already running');
              await startControlPlane(dir, state, fleet, main, launched);
              launched.ids.push(CONTROL_PLANE_ID);
            },
          },
          startPrometheusStep(dir, state, fleet, launched),
          startTenantApiStep(dir, state, fleet, launched),
          ...catchUpSteps(fleet),
        ],
        log,
      ),
    );
    await saveContext(dir, state);
    return { ...(await statusOf(dir, state)), alreadyRunning: launched.ids.length === 0, started: launched.ids };
  });
}
