// The control plane as its own process, to SIGKILL in the middle of a move, and the
// route the control DB gives an org (as a runtime holding the map would, even while the
// control plane is down). Shared by the crash tests of org moves and of range moves.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { type Json, waitFor } from '../helpers.js';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Where the control DB routes an org: its pin, else its range. */
export async function routeOf(control: pg.Pool, orgId: number): Promise<string> {
  const { rows } = await control.query(
    `SELECT COALESCE((SELECT cluster_id FROM placements WHERE org_id = $1),
                     (SELECT cluster_id FROM shard_ranges WHERE lo <= $1 AND hi >= $1)) AS cluster_id`,
    [orgId],
  );
  return rows[0].cluster_id;
}

export class ControlPlaneProcess {
  child: ChildProcess | null = null;
  url = '';
  output = '';

  constructor(private readonly databaseUrl: string) {}

  async start(): Promise<void> {
    this.url = '';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env['PATH'],
        ORGPLANE_DATABASE_URL: this.databaseUrl,
        ORGPLANE_PORT: '0',
        ORGPLANE_MOVE_POLL_MS: '50',
        ORGPLANE_MOVE_RETRY_BASE_MS: '200',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const onData = (d: Buffer) => {
      this.output += d;
      for (const line of d.toString().split('\n')) {
        if (!line.includes('control plane listening')) continue;
        this.url = (JSON.parse(line) as { url: string }).url;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    await waitFor(
      'the control plane to listen',
      () => {
        if (child.exitCode !== null) throw new Error(`main.js exited ${child.exitCode}:\n${this.output}`);
        return this.url !== '';
      },
      30_000,
    );
  }

  /** One API call as `token`: its status and JSON body. */
  async call(token: string, method: string, url: string, body?: unknown): Promise<Json> {
    const res = await fetch(`${this.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
