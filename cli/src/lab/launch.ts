// Steps shared by creating a lab and restarting one: start the control plane, save the
// CLI context, wait for replicas, and on failure stop exactly what this call started.
import { controlPlaneUrl, spawnControlPlane, stopControlPlane, waitReady } from './controlPlaneProcess.js';
import { hintOf, LabError } from './errors.js';
import { CONTROL_DB, type Fleet, type LabServer, waitForReplicas } from './fleet.js';
import type { Progress } from './progress.js';
import { type LabState, labPaths, writeSecretJson, writeState } from './state.js';

/** What this call started, so a failure can stop exactly that. */
export interface Launched {
  servers: LabServer[];
  controlPlanePid: number | null;
}

/** Run `work`; if it fails, stop what this call started and explain where to look. */
export async function guard<T>(dir: string, launched: Launched, fresh: boolean, progress: Progress, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const message = (err as Error).message;
    progress(`failed: ${message}`);
    await stopControlPlane(launched.controlPlanePid, 5_000).catch(() => {});
    for (const { server } of launched.servers.reverse()) await server.stop('immediate').catch(() => {});
    const next = fresh ? 'then run `orgplane lab down --purge` and `orgplane lab up`' : 'then run `orgplane lab up` again';
    const inner = hintOf(err);
    const hint = `${inner ? `${inner}; ` : ''}read ${labPaths(dir).labLog}; ${next}`;
    if (err instanceof LabError) throw new LabError(err.code, err.message, hint, { cause: err });
    throw new LabError('LAB_UP_FAILED', `lab up failed: ${message}`, hint, { cause: err });
  }
}

export async function startControlPlane(
  dir: string,
  state: LabState,
  fleet: Fleet,
  main: string,
  launched: Launched,
  progress: Progress,
): Promise<void> {
  progress('starting the control plane');
  const { port } = state.controlPlane;
  const logFile = labPaths(dir).controlPlaneLog;
  const pid = spawnControlPlane({ main, port, databaseUrl: fleet.controlDb.url(CONTROL_DB), logFile });
  launched.controlPlanePid = pid;
  state.controlPlane = { ...state.controlPlane, pid };
  await writeState(dir, state);
  await waitReady(pid, port, logFile);
}

/** Save the CLI's context and let every replica catch up with its primary. */
export async function finish(dir: string, state: LabState, fleet: Fleet, progress: Progress): Promise<void> {
  const { token, port } = state.controlPlane;
  if (token) await writeSecretJson(labPaths(dir).context, { url: controlPlaneUrl(port), token });
  if (fleet.clusters.some((c) => c.replicas.length)) {
    progress('waiting for the replicas to catch up');
    await waitForReplicas(fleet);
  }
}
