// The CLI end to end against one real lab: every command through the real binary,
// its --json documents, its named errors and exit codes, a runtime following a split,
// and the shard-map runbook executed as written.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, type Runtime } from '@orgplane/runtime';
import { ORG_ID_MAX, type WireRange } from '@orgplane/runtime/wire';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runbookCommands, splitArgs } from '../../runbooks/commands.js';
import { waitFor } from './waitFor.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'cli', 'bin', 'run.js');

let dir: string;
let password: string;

interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary --json documents
  json: any;
}

async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const res = await execa(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? dir,
    reject: false,
    // The lab's saved context is what we test; never a developer's ORGPLANE_*.
    env: { ORGPLANE_URL: undefined, ORGPLANE_TOKEN: undefined, ORGPLANE_LAB_DIR: undefined, ...opts.env },
    stdin: 'ignore',
  });
  let json: unknown;
  if (args.includes('--json')) json = JSON.parse(res.stdout); // exactly one JSON document
  return { exitCode: res.exitCode ?? -1, stdout: res.stdout, stderr: res.stderr, json };
}

function owner(ranges: WireRange[], orgId: number): string | undefined {
  return ranges.find((r) => r.lo <= orgId && orgId <= r.hi)?.clusterId;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-cli-e2e-'));
  await chmod(dir, 0o755); // the postgres OS user must reach the lab below it
  const up = await cli(['lab', 'up', '--orgs', '300', '--json']);
  expect(up.exitCode, up.stderr + up.stdout).toBe(0);
  expect(up.json.state).toBe('running');
  password = new URL(up.json.controlDb.url).password;
  expect(password.length).toBeGreaterThan(8);
}, 300_000);

afterAll(async () => {
  await cli(['lab', 'down', '--purge', '--yes', '--json']);
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('orgplane against the lab', () => {
  it('runs the shard-map runbook as written', async () => {
    const text = await readFile(path.join(root, 'runbooks', 'shard-map.md'), 'utf8');
    const lines = runbookCommands(text).filter((l) => !l.startsWith('orgplane lab '));
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const res = await cli(splitArgs(line).slice(1));
      expect(res.exitCode, `${line}\n${res.stderr}`).toBe(0);
    }
    const located = await cli(['orgs', 'locate', '25000', '--json']);
    expect(located.json).toMatchObject({ orgId: 25000, clusterId: 'primary-2', source: 'range' });
  });

  it('lists clusters with replicas and never prints a password', async () => {
    const res = await cli(['clusters', 'list', '--json']);
    expect(res.exitCode).toBe(0);
    expect(res.json.clusters.map((c: { id: string }) => c.id).sort()).toEqual(['primary-1', 'primary-2', 'primary-3']);
    for (const c of res.json.clusters) expect(c.replicas).toHaveLength(1);
    expect(res.stdout).not.toContain(password);
    const human = await cli(['clusters', 'list']);
    expect(human.stdout).toContain('primary-1');
    expect(human.stdout).not.toContain(password);
  });

  it('locates an org by its range and the map covers every id', async () => {
    const map = await cli(['shards', 'list', '--json']);
    const ranges: WireRange[] = map.json.ranges;
    expect(ranges[0]?.lo).toBe(0);
    expect(ranges.at(-1)?.hi).toBe(ORG_ID_MAX);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.lo).toBe((ranges[i - 1]?.hi ?? -2) + 1);
    const res = await cli(['orgs', 'locate', '42', '--json']);
    expect(res.exitCode).toBe(0);
    expect(res.json.clusterId).toBe(owner(ranges, 42));
    expect(res.json.source).toBe('range');
  });

  it('a split made with the CLI reaches a running runtime', async () => {
    const status = await cli(['lab', 'status', '--json']);
    const runtime: Runtime = createRuntime({
      url: status.json.controlPlane.url,
      token: status.json.controlPlane.token,
      cacheDir: path.join(dir, 'runtime-cache'),
    });
    try {
      await runtime.ready(10_000);
      const before = runtime.route(150_000);
      let firstChange: number | undefined;
      runtime.on('change', (c: { version: number }) => {
        firstChange ??= c.version;
      });
      const split = await cli(['shards', 'split', '--at', '100000', '--reason', 'e2e', '--json']);
      expect(split.exitCode, split.stderr).toBe(0);
      const target = (before === 'primary-1' ? 'primary-3' : 'primary-1') as string;
      const assign = await cli(['shards', 'assign', '--range', `100000-${ORG_ID_MAX}`, '--to', target, '--yes', '--json']);
      expect(assign.exitCode, assign.stdout).toBe(0);
      await waitFor('a change event from the runtime', () => firstChange !== undefined, 20_000);
      expect(firstChange).toBeGreaterThanOrEqual(split.json.version);
      await waitFor(`the runtime at version ${assign.json.version}`, () => (runtime.version ?? 0) >= assign.json.version, 20_000);
      expect(runtime.route(150_000)).toBe(target);
      expect(runtime.route(99_999)).toBe(before);
    } finally {
      await runtime.close();
    }
  });

  it('refuses a stale --expected-version with VERSION_CONFLICT and changes nothing', async () => {
    const before = await cli(['shards', 'list', '--json']);
    const res = await cli(['shards', 'split', '--at', '4242', '--expected-version', '1', '--json']);
    expect(res.exitCode).toBe(5);
    expect(res.json.error.code).toBe('VERSION_CONFLICT');
    const after = await cli(['shards', 'list', '--json']);
    expect(after.json).toEqual(before.json);
  });

  it('names bad input and exits non-zero', async () => {
    const cases: [string[], string, number][] = [
      [['orgs', 'locate', 'abc', '--json'], 'INVALID_ORG_ID', 2],
      [['orgs', 'locate', '1.5', '--json'], 'INVALID_ORG_ID', 2],
      [['orgs', 'locate', '9007199254740992', '--json'], 'INVALID_ORG_ID', 2],
      [['shards', 'split', '--at', '-7', '--json'], 'INVALID_ORG_ID', 2],
      [['shards', 'split', '--at', '2.5', '--json'], 'INVALID_ORG_ID', 2],
      [['shards', 'split', '--json'], 'INVALID_ARGUMENTS', 2],
      [['shards', 'assign', '--range', '10-5', '--to', 'primary-1', '--yes', '--json'], 'INVALID_RANGE', 2],
      [['shards', 'assign', '--range', 'ten-twenty', '--to', 'primary-1', '--yes', '--json'], 'INVALID_RANGE', 2],
      [['shards', 'assign', '--range', `0-${ORG_ID_MAX}`, '--to', 'nope-9', '--yes', '--json'], 'CLUSTER_NOT_FOUND', 4],
      [['shards', 'assign', '--range', `0-${ORG_ID_MAX}`, '--to', 'primary-1', '--json'], 'CONFIRMATION_REQUIRED', 2],
      [['shards', 'list', '--bogus', '--json'], 'INVALID_ARGUMENTS', 2],
      [['lab', 'up', '--orgs', '5', '--json'], 'LAB_CONFIG_MISMATCH', 5],
      [['lab', 'up', '--clusters', '0', '--json'], 'LAB_INVALID_INPUT', 2],
    ];
    const before = await cli(['shards', 'list', '--json']);
    for (const [args, code, exit] of cases) {
      const res = await cli(args);
      expect(res.json?.error?.code, args.join(' ')).toBe(code);
      expect(res.exitCode, args.join(' ')).toBe(exit);
    }
    expect((await cli(['shards', 'list', '--json'])).json).toEqual(before.json);
  });

  it('people get the error code and what to try next on stderr', async () => {
    const res = await cli(['orgs', 'locate', 'abc']);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain('INVALID_ORG_ID');
    expect(res.stderr).toContain('Try:');
  });

  it('without a context, or with a bad token, says so', async () => {
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'orgplane-nocontext-'));
    try {
      const none = await cli(['shards', 'list', '--json'], { cwd: elsewhere });
      expect(none.exitCode).toBe(2);
      expect(none.json.error.code).toBe('NO_CONTEXT');
      const status = await cli(['lab', 'status', '--json']);
      const bad = await cli(['shards', 'list', '--json'], {
        cwd: elsewhere,
        env: { ORGPLANE_URL: status.json.controlPlane.url, ORGPLANE_TOKEN: 'op_nope_nope' },
      });
      expect(bad.exitCode).toBe(3);
      expect(bad.json.error.code).toBe('UNAUTHORIZED');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('a token without the needed scope gets FORBIDDEN, exit 3, and changes nothing', async () => {
    const status = await cli(['lab', 'status', '--json']);
    const { url, token } = status.json.controlPlane;
    const created = await fetch(`${url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e-reader', scope: 'sdk:read' }),
    });
    expect(created.status).toBe(201);
    const reader = (await created.json()) as { token: string };
    const env = { ORGPLANE_URL: url, ORGPLANE_TOKEN: reader.token };
    const before = await cli(['shards', 'list', '--json']);
    const res = await cli(['shards', 'split', '--at', '4343', '--json'], { env });
    expect(res.exitCode).toBe(3);
    expect(res.json.error.code).toBe('FORBIDDEN');
    expect(res.json.error.hint).toContain('ORGPLANE_TOKEN');
    expect(res.stdout).not.toContain(reader.token);
    expect((await cli(['shards', 'list', '--json'])).json).toEqual(before.json);
  });

  it('says which CLI command to try next, not which HTTP endpoint', async () => {
    const unknown = await cli(['shards', 'assign', '--range', `0-${ORG_ID_MAX}`, '--to', 'nope-9', '--yes', '--json']);
    expect(unknown.json.error.hint).toContain('orgplane clusters list');
    const current = (await cli(['shards', 'list', '--json'])).json.version;
    const stale = await cli(['shards', 'split', '--at', '4444', '--expected-version', '1', '--json']);
    expect(stale.json.error.hint).toContain(`--expected-version ${current}`);
  });

  it('audit list and shards history show the CLI changes with their actor', async () => {
    const audit = await cli(['audit', 'list', '--action', 'shard-map.split', '--json']);
    expect(audit.exitCode).toBe(0);
    expect(audit.json.entries.length).toBeGreaterThanOrEqual(2);
    expect(audit.json.entries.some((e: { reason: string }) => e.reason === 'e2e')).toBe(true);
    const history = await cli(['shards', 'history', '--limit', '3', '--json']);
    expect(history.json.changes).toHaveLength(3);
    const versions = history.json.changes.map((c: { version: number }) => c.version);
    expect(versions).toEqual([...versions].sort((a: number, b: number) => b - a));
  });

  // Last: it stops the lab the tests above share.
  it('lab down stops every process it started: none is even listed afterwards', async () => {
    const status = await cli(['lab', 'status', '--json']);
    const pids: number[] = [
      status.json.controlPlane.pid,
      status.json.controlDb.pid,
      // biome-ignore lint/suspicious/noExplicitAny: a --json document
      ...status.json.clusters.flatMap((c: any) => [c.primary.pid, ...c.replicas.map((r: any) => r.pid)]),
      // The lab's Prometheus, which .ci/run installs (the lab runs without it when absent).
      ...(status.json.prometheus.state === 'running' ? [status.json.prometheus.pid] : []),
      // The tenant API's two instances (REDIS_URL answers wherever the tests run).
      // biome-ignore lint/suspicious/noExplicitAny: a --json document
      ...(status.json.tenantApi?.instances ?? []).map((i: any) => i.pid),
    ];
    expect(pids).toHaveLength(1 + 1 + 3 * 2 + (status.json.prometheus.state === 'running' ? 1 : 0) + 2);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid} before`).toBe(true);
    const down = await cli(['lab', 'down', '--json']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.json.stopped).toHaveLength(pids.length);
    // Gone from the process table, not merely exited (a zombie still shows in `ps`).
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid} after`).toBe(false);
    expect((await cli(['lab', 'status', '--json'])).json.state).toBe('stopped');
  });
});
