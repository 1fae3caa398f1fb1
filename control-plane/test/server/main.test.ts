// The built entry point, started the way the lab starts it: migrate an empty DB, print
// one JSON line with the URL, serve, and exit 0 on SIGTERM even with a stream open.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApiToken } from '../../src/index.js';
import { SseClient } from '../sseClient.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

let child: ChildProcess;
let databaseUrl: string;
let stdout = '';
let stderr = '';
let exited: Promise<number | null>;

async function emptyDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await admin.connect();
  const name = `t_main_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

function listeningUrl(): string | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === 'control plane listening') return entry.url;
  }
  return undefined;
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -b control-plane\` (npm test does) first`);
  databaseUrl = await emptyDatabase();
  child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'], ORGPLANE_DATABASE_URL: databaseUrl, ORGPLANE_PORT: '0', ORGPLANE_HEARTBEAT_MS: '1000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!listeningUrl()) {
    if (child.exitCode !== null) throw new Error(`main.js exited ${child.exitCode}:\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`main.js did not start:\n${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
});

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

describe('node control-plane/dist/main.js', () => {
  it('migrates an empty control DB and prints exactly one line with its URL', async () => {
    const url = listeningUrl()!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout.split('\n').filter((line) => line.includes(url))).toHaveLength(1);
    expect(stdout).not.toContain('Server listening');
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('serves the API with a token minted by createApiToken, and logs no secret', async () => {
    const url = listeningUrl()!;
    const { token } = await createApiToken(databaseUrl, { name: 'main-test', scope: 'admin' });
    const res = await fetch(`${url}/v1/clusters`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'primary-1', primary: { url: 'postgres://app:pw-main@db/app' } }),
    });
    expect(res.status).toBe(201);
    const output = stdout + stderr;
    expect(output).not.toContain(token);
    expect(output).not.toContain('pw-main');
    expect(output).not.toContain(decodeURIComponent(new URL(databaseUrl).password));
  });

  it('exits 0 on SIGTERM, ending open watch streams', async () => {
    const url = listeningUrl()!;
    const { token } = await createApiToken(databaseUrl, { name: 'watcher', scope: 'sdk:read' });
    const watcher = await SseClient.open(url, token, { since: 0 });
    expect(watcher.status).toBe(200);
    await watcher.next();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await watcher.ended;
    expect(stdout).toContain('"msg":"stopped"');
  });
});
