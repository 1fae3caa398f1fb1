// What the lab runs and how to reach it. URLs carry the lab password on purpose: the
// lab is a local dev fleet and its status is how people and scripts connect to it.
import { controlPlaneUrl, isControlPlaneRunning } from './controlPlaneProcess.js';
import { CONTROL_DB, fleetOf, isRunning, replayLagBytes, TENANT_DB } from './fleet.js';
import { findPrometheus, isPrometheusRunning, PROMETHEUS_INSTALL_HINT, prometheusUrl } from './prometheusProcess.js';
import { hasState, type LabState, labPaths, readState, resolveLabDir } from './state.js';
import { isTenantApiRunning, type TenantApiSlot, tenantApiLog, tenantApiUrl } from './tenantApiProcess.js';

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

export interface PrometheusStatus {
  /** `absent`: the prometheus binary is not installed, so the lab's SLO gates are off. */
  state: 'running' | 'stopped' | 'absent';
  /** Its HTTP API, the control plane's ORGPLANE_PROMETHEUS_URL; null while absent. */
  url: string | null;
  pid: number | null;
  logFile: string;
  /** What to do about it while absent, else null. */
  hint: string | null;
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
  /** Scrapes the control plane every second for the SLO gates; optional, so never makes the lab partial when absent. */
  prometheus: PrometheusStatus;
  controlDb: ServerStatus;
  clusters: ClusterStatus[];
  /** The tenant API's instances (absent in labs made before it, until their next `labUp`). */
  tenantApi?: TenantApiStatus;
}

export interface TenantApiStatus {
  instances: { id: string; url: string; pid: number | null; running: boolean; logFile: string }[];
  /** The Redis its guards use; `startedByLab`: the lab runs it and `lab down` stops it. */
  redis: { url: string; startedByLab: boolean };
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
  const prometheus = prometheusStatus(dir, state);
  const controlDb = server(fleet.controlDb, CONTROL_DB);
  const running = [
    controlPlane.running,
    ...(prometheus.state === 'absent' ? [] : [prometheus.state === 'running']),
    controlDb.running,
    ...clusters.flatMap((c) => [c.primary.running, ...c.replicas.map((r) => r.running)]),
  ];
  return {
    state: running.every(Boolean) ? 'running' : running.some(Boolean) ? 'partial' : 'stopped',
    dir,
    orgs: state.orgs,
    complete: state.phase === 'ready',
    controlPlane,
    prometheus,
    controlDb,
    clusters,
    ...(state.tenantApi ? { tenantApi: tenantApiStatus(dir, state.tenantApi) } : {}),
  };
}

function tenantApiStatus(dir: string, slot: TenantApiSlot): TenantApiStatus {
  return {
    instances: slot.instances.map((i) => {
      const running = isTenantApiRunning(i.pid);
      return { id: i.id, url: tenantApiUrl(i.port), pid: running ? i.pid : null, running, logFile: tenantApiLog(dir, i.id) };
    }),
    redis: { url: slot.redis.url, startedByLab: slot.redis.pid !== null },
  };
}

function prometheusStatus(dir: string, state: LabState): PrometheusStatus {
  const slot = state.prometheus;
  const logFile = labPaths(dir).prometheus.log;
  if (slot && isPrometheusRunning(dir, slot.pid)) {
    return { state: 'running', url: prometheusUrl(slot.port), pid: slot.pid, logFile, hint: null };
  }
  if (!findPrometheus()) {
    return {
      state: 'absent',
      url: null,
      pid: null,
      logFile,
      hint: `Prometheus is not installed, so SLO gates are off: ${PROMETHEUS_INSTALL_HINT}`,
    };
  }
  return { state: 'stopped', url: slot ? prometheusUrl(slot.port) : null, pid: null, logFile, hint: null };
}
