// What the lab runs and how to reach it. URLs carry the lab password on purpose: the
// lab is a local dev fleet and its status is how people and scripts connect to it.
import { controlPlaneUrl, isControlPlaneRunning } from './controlPlaneProcess.js';
import { CONTROL_DB, fleetOf, isRunning, replayLagBytes, TENANT_DB } from './fleet.js';
import { hasState, type LabState, labPaths, readState, resolveLabDir } from './state.js';

export interface ServerStatus {
  url: string;
  running: boolean;
  pid: number | null;
  logFile: string;
}

export interface ReplicaStatus extends ServerStatus {
  id: string;
  /** WAL bytes the replica has still to replay; null when it or its primary is down. */
  replayLagBytes: number | null;
}

export interface ClusterStatus {
  id: string;
  primary: ServerStatus;
  replicas: ReplicaStatus[];
}

export interface ControlPlaneStatus {
  url: string;
  token: string | null;
  pid: number | null;
  running: boolean;
  logFile: string;
}

export interface LabAbsent {
  state: 'absent';
  dir: string;
  orgs: null;
}

export interface LabPresent {
  state: 'running' | 'stopped' | 'partial';
  dir: string;
  orgs: number;
  /** False while the first `labUp` has not finished (or failed): such a lab must be purged. */
  complete: boolean;
  controlPlane: ControlPlaneStatus;
  controlDb: ServerStatus;
  clusters: ClusterStatus[];
}

export type LabStatus = LabAbsent | LabPresent;

export async function labStatus(opts: { dir?: string } = {}): Promise<LabStatus> {
  const dir = resolveLabDir(opts.dir);
  if (!hasState(dir)) return { state: 'absent', dir, orgs: null };
  return statusOf(dir, await readState(dir));
}

export async function statusOf(dir: string, state: LabState): Promise<LabPresent> {
  const fleet = fleetOf(dir, state);
  const server = (s: (typeof fleet)['controlDb'], db: string): ServerStatus => {
    const running = isRunning(s);
    return { url: s.url(db), running, pid: running ? s.pid() : null, logFile: s.logFile };
  };
  const clusters = await Promise.all(
    fleet.clusters.map(async (c): Promise<ClusterStatus> => {
      const primary = server(c.primary, TENANT_DB);
      const replicas = await Promise.all(
        c.replicas.map(async (r): Promise<ReplicaStatus> => {
          const status = server(r.server, TENANT_DB);
          const lag = primary.running && status.running ? await replayLagBytes(c.primary, r.server) : null;
          return { id: r.id, ...status, replayLagBytes: lag };
        }),
      );
      return { id: c.id, primary, replicas };
    }),
  );
  const cpRunning = isControlPlaneRunning(state.controlPlane.pid);
  const controlPlane: ControlPlaneStatus = {
    url: controlPlaneUrl(state.controlPlane.port),
    token: state.controlPlane.token,
    pid: cpRunning ? state.controlPlane.pid : null,
    running: cpRunning,
    logFile: labPaths(dir).controlPlaneLog,
  };
  const controlDb = server(fleet.controlDb, CONTROL_DB);
  const running = [
    controlPlane.running,
    controlDb.running,
    ...clusters.flatMap((c) => [c.primary.running, ...c.replicas.map((r) => r.running)]),
  ];
  return {
    state: running.every(Boolean) ? 'running' : running.some(Boolean) ? 'partial' : 'stopped',
    dir,
    orgs: state.orgs,
    complete: state.phase === 'ready',
    controlPlane,
    controlDb,
    clusters,
  };
}
