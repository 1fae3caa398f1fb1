// OS processes of the lab: starting one detached in the background, whether a pid is
// alive and what it is, which processes still run out of a lab directory, stopping one.

import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sleep } from '@orgplane/kit';
import { execa, type StdoutStderrOption } from 'execa';
import { LabError } from './errors.js';

export function isAlive(pid: number | null | undefined): pid is number {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** An exited child nobody reaped yet (common in containers whose pid 1 does not reap). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** The command line of a process as one string, or null where /proc cannot tell. */
export function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

/** Alive, and (where /proc exists) running something whose command line contains every needle. */
export function isAliveAs(pid: number | null | undefined, ...needles: string[]): pid is number {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd === null || needles.every((n) => cmd.includes(n));
}

/** Pids of `postgres` processes whose command line mentions `dir` (a postmaster's `-D <dataDir>`). */
export function postgresProcessesUnder(dir: string): number[] {
  return processesUnder(dir, /(^|\/)postgres\b/);
}

/** Pids of live processes whose command line matches `program` and mentions a path under `dir`. */
export function processesUnder(dir: string, program: RegExp): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = commandLine(Number(entry));
    if (cmd && program.test(cmd) && cmd.includes(dir + path.sep) && isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids;
}

export async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Waits, up to `timeoutMs`, until the pids are gone from the process table altogether:
 * a stopped postmaster lingers as a zombie until init reaps it, and `ps` still lists it.
 * False when some are still listed (a pid 1 that does not reap); they hold nothing.
 */
export async function waitUntilReaped(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listed = pids.filter((pid) => existsSync(`/proc/${pid}`));
    if (listed.length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

export interface SpawnDetached {
  command: string;
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** stdout and stderr are appended here (created 0600). */
  logFile: string;
}

/** Start a program detached so it outlives this process; returns its pid. */
export function spawnDetached(opts: SpawnDetached): number {
  // An open file descriptor, not execa's {file}: that would pipe the output through this
  // process, which is gone long before the child. execa's types name only fds up to 9;
  // like child_process it hands any open fd to the child.
  const out = openSync(opts.logFile, 'a', 0o600);
  const log = out as StdoutStderrOption;
  try {
    const child = execa(opts.command, opts.args, {
      detached: true,
      stdin: 'ignore',
      stdout: log,
      stderr: log,
      // Its exit is noticed by a readiness wait and by pid later, never through this promise.
      reject: false,
      ...(opts.env ? { env: opts.env } : {}),
    });
    child.unref();
    if (!child.pid) throw new LabError('LAB_UP_FAILED', `could not start ${opts.command}`, `read ${opts.logFile}`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  signal(pid, 'SIGTERM');
  if (!(await waitUntilDead(pid, graceMs))) {
    signal(pid, 'SIGKILL');
    await waitUntilDead(pid, 5_000);
  }
}

/** It may exit between the check and the signal: that is what we wanted anyway. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
