// Steps shared by creating a lab and restarting one: start Postgres (replicas after their
// slots exist), start the control plane and Prometheus, wait for the replicas, save the
// CLI context; and on failure stop exactly what this call started.
import { existsSync } from 'node:fs';
import { createApiToken } from '@orgplane/control-plane/tokens';
import { freePort } from '@orgplane/embedded';
import { controlPlaneUrl, spawnControlPlane, stopControlPlane, waitReady } from './controlPlaneProcess.js';
import { hintOf, LabError } from './errors.js';
import { CONTROL_DB, ensureSlots, type Fleet, type LabServer, primariesOf, replicasOf, startStopped, waitForReplicas } from './fleet.js';
import { terminate } from './processes.js';
import {
  findPrometheus,
  isPrometheusRunning,
  PROMETHEUS_ID,
  prometheusUrl,
  spawnPrometheus,
  stopPrometheus,
  waitPrometheusReady,
  writeCredentials,
  writePrometheusConfig,
} from './prometheusProcess.js';
import { type LabState, labPaths, type PrometheusSlot, writeSecretJson, writeState } from './state.js';
import type { Log, Step } from './steps.js';
import { ensureTenantApiSlot, isTenantApiRunning } from './tenantApiProcess.js';

/** What this call started, so a failure can stop exactly that. */
export interface Launched {
  servers: LabServer[];
  controlPlanePid: number | null;
  prometheusPid: number | null;
  tenantApiPids: number[];
  /** Ids in the order they started. */
  ids: string[];
}

export const nothingLaunched = (): Launched => ({ servers: [], controlPlanePid: null, prometheusPid: null, tenantApiPids: [], ids: [] });

/** Run `work`; if it fails, stop what this call started and explain where to look. */
export async function guard<T>(dir: string, launched: Launched, fresh: boolean, log: Log, work: () => Promise<T>): Promise<T> {
  const stopLaunched = async () => {
    for (const pid of launched.tenantApiPids) if (isTenantApiRunning(pid)) await terminate(pid, 5_000).catch(() => {});
    await stopPrometheus(dir, launched.prometheusPid, 5_000).catch(() => {});
    await stopControlPlane(launched.controlPlanePid, 5_000).catch(() => {});
    // 'fast', not 'immediate': the next start must not begin with crash recovery.
    for (const { server } of [...launched.servers].reverse()) await server.stop('fast').catch(() => {});
  };
  // Ctrl-C half-way: stop what this call started before exiting, as a failure would.
  const onSignal = (signal: NodeJS.Signals) => {
    log(`interrupted by ${signal}`);
    void stopLaunched().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work();
  } catch (err) {
    const message = (err as Error).message;
    log(`failed: ${message}`);
    await stopLaunched();
    const next = fresh ? 'then run `orgplane lab down --purge` and `orgplane lab up`' : 'then run `orgplane lab up` again';
    const inner = hintOf(err);
    const hint = `${inner ? `${inner}; ` : ''}read ${labPaths(dir).labLog}; ${next}`;
    if (err instanceof LabError) throw new LabError(err.code, err.message, hint, { cause: err });
    throw new LabError('LAB_UP_FAILED', `lab up failed: ${message}`, hint, { cause: err });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Start whatever Postgres server is stopped: the control DB and primaries, then the replicas. */
export function startPostgresSteps(fleet: Fleet, launched: Launched): Step[] {
  const replicas = replicasOf(fleet);
  const steps: Step[] = [
    {
      title:
        fleet.clusters.length === 1
          ? 'Start the control DB and the primary'
          : `Start the control DB and ${fleet.clusters.length} primaries`,
      async run(report) {
        const ids = await startStopped(primariesOf(fleet), launched.servers, (id) => report.output(`started ${id}`));
        launched.ids.push(...ids);
        if (ids.length === 0) report.skip('all running');
      },
    },
  ];
  if (replicas.length === 0) return steps;
  steps.push({
    title: replicas.length === 1 ? 'Start the replica' : `Start ${replicas.length} replicas`,
    async run(report) {
      await ensureSlots(fleet);
      const ids = await startStopped(replicas, launched.servers, (id) => report.output(`started ${id}`));
      launched.ids.push(...ids);
      if (ids.length === 0) report.skip('all running');
    },
  });
  return steps;
}

export async function startControlPlane(dir: string, state: LabState, fleet: Fleet, main: string, launched: Launched): Promise<void> {
  const { port } = state.controlPlane;
  const logFile = labPaths(dir).controlPlaneLog;
  // Without the binary the control plane gets no URL: checks are then stored unvalidated
  // (a URL nobody answers would refuse every rollout with a check).
  const prometheus = state.prometheus && findPrometheus() ? prometheusUrl(state.prometheus.port) : null;
  const pid = spawnControlPlane({ main, port, databaseUrl: fleet.controlDb.url(CONTROL_DB), prometheusUrl: prometheus, logFile });
  launched.controlPlanePid = pid;
  state.controlPlane = { ...state.controlPlane, pid };
  await writeState(dir, state);
  await waitReady(pid, port, logFile);
}

/** A port for Prometheus in a lab made before the lab ran it; not one of the lab's own (they may be stopped). */
export async function ensurePrometheusSlot(state: LabState): Promise<PrometheusSlot> {
  if (state.prometheus) return state.prometheus;
  const taken = new Set([
    state.controlDb.port,
    state.controlPlane.port,
    ...state.fleet.flatMap((c) => [c.port, ...c.replicas.map((r) => r.port)]),
  ]);
  let port = await freePort();
  while (taken.has(port)) port = await freePort();
  state.prometheus = { port, pid: null, tokenId: null };
  return state.prometheus;
}

/**
 * Start Prometheus, scraping the control plane, unless it runs or is not installed (the
 * lab then runs with its SLO gates off; its status says why). Its scrape token has the
 * least scope /metrics accepts and lives only in its 0600 credentials file.
 */
export function startPrometheusStep(dir: string, state: LabState, fleet: Fleet, launched: Launched): Step {
  return {
    title: 'Start Prometheus',
    async run(report) {
      const binary = findPrometheus();
      if (!binary) return report.skip('not installed');
      const slot = await ensurePrometheusSlot(state);
      if (isPrometheusRunning(dir, slot.pid)) return report.skip('already running');
      const paths = labPaths(dir).prometheus;
      if (!existsSync(paths.credentials)) {
        const { id, token } = await createApiToken(fleet.controlDb.url(CONTROL_DB), { name: 'lab-prometheus', scope: 'sdk:read' });
        await writeCredentials(dir, token);
        slot.tokenId = id;
      }
      await writePrometheusConfig(
        dir,
        state.controlPlane.port,
        (await ensureTenantApiSlot(state)).instances.map((i) => i.port),
      );
      const pid = spawnPrometheus(binary, dir, slot.port);
      launched.prometheusPid = pid;
      slot.pid = pid;
      await writeState(dir, state);
      await waitPrometheusReady(pid, slot.port, paths.log);
      launched.ids.push(PROMETHEUS_ID);
      report.output(`scraping the control plane every second at ${prometheusUrl(slot.port)}`);
    },
  };
}

/** Let every replica replay its primary's WAL as of now; none when the lab has no replicas. */
export function catchUpSteps(fleet: Fleet): Step[] {
  if (replicasOf(fleet).length === 0) return [];
  return [{ title: 'Wait for the replicas to catch up', run: () => waitForReplicas(fleet) }];
}

/** Where the CLI finds the control plane: `{url, token}` beside the lab directory. */
export async function saveContext(dir: string, state: LabState): Promise<void> {
  const { token, port } = state.controlPlane;
  if (token) await writeSecretJson(labPaths(dir).context, { url: controlPlaneUrl(port), token });
}
