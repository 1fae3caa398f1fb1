// The lab's Prometheus: Debian's `prometheus` binary as a detached background process,
// with its config, TSDB and scrape token under <dir>/prometheus/ and its output appended
// to <dir>/prometheus.log. It scrapes the lab's control plane every second, so the SLO
// gates of rollouts made in the lab have something to query. It is optional: without
// the binary the lab runs and its gates are off.

import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { prometheusConfig } from '@orgplane/embedded';
import { sleep } from '@orgplane/kit';
import { LabError } from './errors.js';
import { isAlive, isAliveAs, spawnDetached, terminate } from './processes.js';
import { labPaths } from './state.js';

export const PROMETHEUS_ID = 'prometheus';

export const PROMETHEUS_INSTALL_HINT =
  'install it (Debian, Ubuntu: `apt-get install prometheus`), then run `orgplane lab down` and `orgplane lab up`';

/** The scrape job of the lab's control plane: its samples carry `job="control-plane"`. */
export const CONTROL_PLANE_JOB = 'control-plane';

export const prometheusUrl = (port: number) => `http://127.0.0.1:${port}`;

/** The `prometheus` executable on PATH, or null when it is not installed. */
export function findPrometheus(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, 'prometheus');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Our Prometheus (its command line names this lab's config), not whatever got its pid later. */
export function isPrometheusRunning(dir: string, pid: number | null | undefined): pid is number {
  return isAliveAs(pid, 'prometheus', `--config.file=${labPaths(dir).prometheus.config}`);
}

/**
 * Writes prometheus.yml: the control plane's /metrics every second, with the bearer token
 * read from the credentials file (0600, beside the config), never from the config itself.
 */
export async function writePrometheusConfig(dir: string, controlPlanePort: number, tenantApiPorts: readonly number[] = []): Promise<void> {
  const paths = labPaths(dir).prometheus;
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const config = prometheusConfig(
    [
      { job: CONTROL_PLANE_JOB, targets: [`127.0.0.1:${controlPlanePort}`], credentialsFile: paths.credentials },
      // The tenant API's /metrics (latency by route and status, the guards' decisions) is open.
      ...(tenantApiPorts.length ? [{ job: 'tenant-api', targets: tenantApiPorts.map((p) => `127.0.0.1:${p}`) }] : []),
    ],
    1,
  );
  await writeFile(paths.config, config, { mode: 0o600 });
}

export async function writeCredentials(dir: string, token: string): Promise<void> {
  const paths = labPaths(dir).prometheus;
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await writeFile(paths.credentials, token, { mode: 0o600 });
  await chmod(paths.credentials, 0o600);
}

export function spawnPrometheus(binary: string, dir: string, port: number): number {
  const paths = labPaths(dir).prometheus;
  return spawnDetached({
    command: binary,
    args: [
      `--config.file=${paths.config}`,
      `--storage.tsdb.path=${paths.data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // The lab looks at the last minutes; a day keeps its disk use small.
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
    logFile: paths.log,
  });
}

/** Poll /-/ready (it answers once the TSDB is open, before any scrape); fails fast if the process exits. */
export async function waitPrometheusReady(pid: number, port: number, logFile: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) throw new LabError('LAB_UP_FAILED', 'Prometheus exited while starting', `read ${logFile}`);
    try {
      const res = await fetch(`${prometheusUrl(port)}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new LabError(
        'LAB_UP_FAILED',
        `Prometheus did not become ready on port ${port} within ${timeoutMs / 1000} s`,
        `read ${logFile}`,
      );
    await sleep(100);
  }
}

/** SIGTERM (Prometheus closes its TSDB), SIGKILL after `graceMs`. Returns whether it was running. */
export async function stopPrometheus(dir: string, pid: number | null | undefined, graceMs = 10_000): Promise<boolean> {
  if (!isPrometheusRunning(dir, pid)) return false;
  await terminate(pid, graceMs);
  return true;
}
