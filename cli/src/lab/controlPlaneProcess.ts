// The control plane as a detached background process: `node control-plane/dist/main.js`
// with its output appended to <dir>/control-plane.log, found again later by its pid.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { sleep } from '@orgplane/kit';
import { LabError } from './errors.js';
import { isAlive, isAliveAs, spawnDetached, terminate } from './processes.js';

/** control-plane/dist/main.js of the installed @orgplane/control-plane package. */
export function controlPlaneMain(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('@orgplane/control-plane');
  } catch {
    throw new LabError(
      'LAB_CONTROL_PLANE_MISSING',
      '@orgplane/control-plane is not installed or not built',
      'run `npm ci` (which builds it) or `npx tsc -b control-plane`',
    );
  }
  const main = path.join(path.dirname(entry), 'main.js');
  if (!existsSync(main)) {
    throw new LabError(
      'LAB_CONTROL_PLANE_MISSING',
      `the control plane is not built: ${main} does not exist`,
      'run `npx tsc -b control-plane` in the project root',
    );
  }
  return main;
}

export const controlPlaneUrl = (port: number) => `http://127.0.0.1:${port}`;

/** Our control plane, not whatever process got its pid after a reboot. */
export function isControlPlaneRunning(pid: number | null): pid is number {
  return isAliveAs(pid, 'control-plane', 'main.js');
}

export interface StartControlPlane {
  main: string;
  port: number;
  databaseUrl: string;
  /** The lab's Prometheus, which its SLO gates query; null when Prometheus is not installed. */
  prometheusUrl: string | null;
  logFile: string;
}

/** Spawn it detached so it outlives this process; returns its pid. */
export function spawnControlPlane(opts: StartControlPlane): number {
  return spawnDetached({
    command: process.execPath,
    args: [opts.main],
    env: {
      ORGPLANE_DATABASE_URL: opts.databaseUrl,
      ORGPLANE_PORT: String(opts.port),
      ORGPLANE_HOST: '127.0.0.1',
      ...(opts.prometheusUrl ? { ORGPLANE_PROMETHEUS_URL: opts.prometheusUrl } : {}),
    },
    logFile: opts.logFile,
  });
}

/** Poll GET /readyz until it answers 200; fails fast if the process exits. */
export async function waitReady(pid: number, port: number, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) throw new LabError('LAB_UP_FAILED', 'the control plane exited while starting', `read ${logFile}`);
    try {
      const res = await fetch(`${controlPlaneUrl(port)}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new LabError(
        'LAB_UP_FAILED',
        `the control plane did not become ready on port ${port} within ${timeoutMs / 1000} s`,
        `read ${logFile}`,
      );
    await sleep(200);
  }
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`. Returns whether it was running. */
export async function stopControlPlane(pid: number | null, graceMs = 10_000): Promise<boolean> {
  if (!isControlPlaneRunning(pid)) return false;
  await terminate(pid, graceMs);
  return true;
}
