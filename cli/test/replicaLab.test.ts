// The runbook's lab rehearsal (runbooks/replica-lag.md), as written, on a real lab of one
// cluster with two streaming replicas: paused replay under writes goes lagging then
// unhealthy and comes back after resume; a stopped server goes unreachable and comes
// back after a start. Each state change is in the audit log.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from './cliHarness.js';

const bin = path.join(repoRoot, 'cli', 'bin', 'run.js');
let dir: string;
// biome-ignore lint/suspicious/noExplicitAny: --json documents read loosely
type Json = any;

async function orgplane(...args: string[]): Promise<Json> {
  const res = await execa(process.execPath, [bin, ...args, '--json'], {
    cwd: dir,
    reject: false,
    env: { ORGPLANE_URL: undefined, ORGPLANE_TOKEN: undefined, ORGPLANE_LAB_DIR: undefined },
    stdin: 'ignore',
  });
  expect(res.exitCode, `orgplane ${args.join(' ')}\n${res.stdout}\n${res.stderr}`).toBe(0);
  return JSON.parse(res.stdout);
}

async function stateOf(id: string): Promise<string> {
  const { replicas } = await orgplane('replicas', 'list', '--cluster', 'primary-1');
  return replicas.find((r: Json) => r.id === id).state;
}

async function until(what: string, check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-replica-lab-'));
  await chmod(dir, 0o755);
  await orgplane('lab', 'up', '--orgs', '100', '--clusters', '1', '--replicas', '2');
}, 300_000);

afterAll(async () => {
  if (!dir) return;
  await execa(process.execPath, [bin, 'lab', 'down', '--purge', '--yes'], { cwd: dir, reject: false });
  await rm(dir, { recursive: true, force: true });
}, 120_000);

it('lab up --replicas 2: both replicas probed healthy, lag 0', async () => {
  const status = await orgplane('lab', 'status');
  expect(status.clusters[0].replicas.map((r: Json) => r.id)).toEqual(['primary-1-replica-1', 'primary-1-replica-2']);
  await until('both healthy', async () => (await orgplane('replicas', 'list')).replicas.every((r: Json) => r.state === 'healthy'));
});

it('pause-replay under writes: lagging, then unhealthy; resume-replay: healthy again', async () => {
  await orgplane('replicas', 'settings', '--lag-warn-seconds', '1', '--lag-critical-seconds', '2', '--reason', 'test');
  const status = await orgplane('lab', 'status');
  const primary = new pg.Client({ connectionString: status.clusters[0].primary.url.replace(/\/[^/]*$/, '/tenant') });
  await primary.connect();
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await primary.query("UPDATE organizations SET name = 'w' || $1 WHERE org_id = 1", [i]);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    const paused = await orgplane('lab', 'replica', 'pause-replay', 'primary-1-replica-1');
    expect(paused).toMatchObject({ replica: 'primary-1-replica-1', running: true });
    await until('unhealthy', async () => (await stateOf('primary-1-replica-1')) === 'unhealthy');
    const { entries } = await orgplane('audit', 'list', '--action', 'replica.health', '--limit', '20');
    const reasons = entries.map((e: Json) => e.reason).join('\n');
    expect(reasons).toContain('primary-1-replica-1: healthy -> lagging');
    expect(reasons).toContain('primary-1-replica-1: lagging -> unhealthy');
    expect(await stateOf('primary-1-replica-2')).toBe('healthy');
    const resumed = await orgplane('lab', 'replica', 'resume-replay', 'primary-1-replica-1');
    expect(resumed.replay).toBe('not paused');
    await until('healthy again', async () => (await stateOf('primary-1-replica-1')) === 'healthy');
  } finally {
    writing = false;
    await writer;
    await primary.end();
    await orgplane('replicas', 'settings', '--lag-warn-seconds', '5', '--lag-critical-seconds', '10');
  }
});

it('stop: unreachable; start: healthy again', async () => {
  expect(await orgplane('lab', 'replica', 'stop', 'primary-1-replica-2')).toMatchObject({ running: false, replay: null });
  await until('unreachable', async () => (await stateOf('primary-1-replica-2')) === 'unreachable');
  expect(await orgplane('lab', 'replica', 'start', 'primary-1-replica-2')).toMatchObject({ running: true });
  await until('healthy again', async () => (await stateOf('primary-1-replica-2')) === 'healthy');
});
