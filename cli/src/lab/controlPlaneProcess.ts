// The control plane as a detached background process: `node control-plane/dist/main.js`
// with its output appended to <dir>/control-plane.log, found again later by its pid.
import { closeSync, existsSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { execa, type StdoutStderrOption } from 'execa';
import { LabError } from './errors.js';
import { isAlive, isAliveAs, sleep, waitUntilDead } from './processes.js';

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
  logFile: string;
}

/** Spawn it detached so it outlives this process; returns its pid. */
export function spawnControlPlane(opts: StartControlPlane): number {
  // An open file descriptor, not execa's {file}: that would pipe the output through this
  // process, which is gone long before the control plane. execa's types name only fds up
  // to 9; like child_process it hands any open fd to the child.
  const out = openSync(opts.logFile, 'a', 0o600);
  const log = out as StdoutStderrOption;
  try {
    const child = execa(process.execPath, [opts.main], {
      detached: true,
      stdin: 'ignore',
      stdout: log,
      stderr: log,
      // Its exit is noticed by waitReady and by pid later, never through this promise.
      reject: false,
      env: { ORGPLANE_DATABASE_URL: opts.databaseUrl, ORGPLANE_PORT: String(opts.port), ORGPLANE_HOST: '127.0.0.1' },
    });
    child.unref();
    if (!child.pid) throw new LabError('LAB_UP_FAILED', `could not start ${process.execPath} ${opts.main}`, `read ${opts.logFile}`);
    return child.pid;
  } finally {
    closeSync(out);
  }
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
  signal(pid, 'SIGTERM');
  if (!(await waitUntilDead(pid, graceMs))) {
    signal(pid, 'SIGKILL');
    await waitUntilDead(pid, 5_000);
  }
  return true;
}

/** It may exit between the check and the signal: that is what we wanted anyway. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
