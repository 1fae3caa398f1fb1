// Runs the real `orgplane` binary against a control plane the test started, and calls
// that control plane's API directly: the CLI suites that do not need a whole lab share it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, type ControlPlane, createLogger, loadConfig } from '@orgplane/control-plane';
import { execa } from 'execa';
import pg from 'pg';
import { expect } from 'vitest';

export const repoRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(repoRoot, 'cli', 'bin', 'run.js');

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary --json documents
  json: any;
}

export interface CliTarget {
  /** The working directory (no lab context in it). */
  dir: string;
  url: string;
  /** The token commands and API calls use unless one is given. */
  token: string;
}

export interface CallOptions {
  token?: string;
  url?: string;
}

/** `target` is read at each call, so a suite can fill it in its beforeAll. */
/**
 * `state`, when given, reads everything a refused command must leave as it was (see
 * rowsOf): `refused` then checks it is the same before and after.
 */
export function cliHarness(target: () => CliTarget, state?: () => Promise<unknown>) {
  async function cli(args: string[], opts: CallOptions = {}): Promise<CliRun> {
    const t = target();
    const res = await execa(process.execPath, [bin, ...args], {
      cwd: t.dir,
      reject: false,
      env: { ORGPLANE_URL: opts.url ?? t.url, ORGPLANE_TOKEN: opts.token ?? t.token, ORGPLANE_LAB_DIR: undefined },
      stdin: 'ignore',
    });
    let json: unknown;
    if (args.includes('--json')) {
      try {
        json = JSON.parse(res.stdout);
      } catch {
        throw new Error(`orgplane ${args.join(' ')} printed no single JSON document:\n${res.stdout}\n${res.stderr}`);
      }
    }
    return { exitCode: res.exitCode ?? -1, stdout: res.stdout, stderr: res.stderr, json };
  }

  /** The command must succeed; returns its --json document. */
  async function ok(args: string[], opts: CallOptions = {}): Promise<CliRun['json']> {
    const res = await cli([...args, '--json'], opts);
    expect(res.exitCode, `orgplane ${args.join(' ')}\n${res.stdout}\n${res.stderr}`).toBe(0);
    return res.json;
  }

  /** The command must fail with this code and exit code, and print the error document. */
  async function fails(args: string[], code: string, exitCode: number, opts: CallOptions = {}): Promise<CliRun['json']> {
    const res = await cli([...args, '--json'], opts);
    expect(res.json?.error?.code, `orgplane ${args.join(' ')}\n${res.stdout}`).toBe(code);
    expect(res.exitCode, `orgplane ${args.join(' ')}`).toBe(exitCode);
    expect(res.json.error.exitCode).toBe(exitCode);
    return res.json.error;
  }

  /** The control plane's API with the target's token. */
  async function api(method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const t = target();
    const res = await fetch(`${t.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** As fails(), and the harness's `state` is the same before and after: nothing changed. */
  async function refused(args: string[], code: string, exitCode: number): Promise<CliRun['json']> {
    if (state === undefined) throw new Error('cliHarness: refused() needs the state reader');
    const before = await state();
    const error = await fails(args, code, exitCode);
    expect(await state(), `orgplane ${args.join(' ')} changed something`).toEqual(before);
    return error;
  }

  return { cli, ok, fails, refused, api };
}

/** Each query's rows by name, read on one connection: what a refused command must leave as it was. */
export async function rowsOf(url: string, queries: Record<string, string>): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, unknown[]> = {};
    for (const [name, sql] of Object.entries(queries)) out[name] = (await client.query(sql)).rows;
    return out;
  } finally {
    await client.end();
  }
}

/**
 * A control plane in this process on `controlDb`, listening on a free port, with no move
 * executor (the CLI's tests look at what commands ask for, not at moves running).
 */
export async function startControlPlane(controlDb: string): Promise<{ cp: ControlPlane; url: string }> {
  const config = loadConfig({ ORGPLANE_DATABASE_URL: controlDb, ORGPLANE_LOG_LEVEL: 'warn', ORGPLANE_MOVE_EXECUTOR: 'off' });
  const cp = await buildApp(config, { logger: createLogger(config) });
  return { cp, url: await cp.app.listen({ host: '127.0.0.1', port: 0 }) };
}
