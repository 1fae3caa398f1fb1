// Every --json document the CLI prints, checked against the schemas in cli/schemas/
// through the real binary and one real lab: a change to a document's shape must be
// deliberate (change the schema with it), and a new command must come with a schema.
// The schemas are generated (cli/src/results/registry.ts, resultSchemas.test.ts checks
// they are current): this proves they describe what the commands really print.
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { ORG_ID_MAX } from '@orgplane/runtime/wire';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClustersListResult } from '../src/commands/clusters/list.js';
import type { LabStatusResult } from '../src/commands/lab/status.js';
import type { LabUpResult } from '../src/commands/lab/up.js';
import type { OrgsMoveResult } from '../src/commands/orgs/move.js';
import type { OrgsPinResult } from '../src/commands/orgs/pin.js';
import type { PilotSelectResult } from '../src/commands/pilot/select.js';
import type { RunbooksListResult } from '../src/commands/runbooks/list.js';
import type { ShardsHistoryResult } from '../src/commands/shards/history.js';
import type { ShardsListResult } from '../src/commands/shards/list.js';
import type { ShardsMergeResult } from '../src/commands/shards/merge.js';
import type { ShardsMoveResult } from '../src/commands/shards/move.js';
import type { ShardsRebalanceResult } from '../src/commands/shards/rebalance.js';
import type { ShardsSplitResult } from '../src/commands/shards/split.js';
import type { TokensCreateResult } from '../src/commands/tokens/create.js';
import type { Move } from '../src/moves/types.js';
import { ERROR_SCHEMA_FILE as ERROR_SCHEMA, ownCommandIds, schemaFileOf } from '../src/results/registry.js';

const cliRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(cliRoot, 'bin', 'run.js');
const schemaDir = path.join(cliRoot, 'schemas');

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));
const jsonFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

// Strict: an unknown keyword or a keyword on the wrong type is an error in the schema itself.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
// ajv-formats is CommonJS: under NodeNext its default import is module.exports, and the
// plugin is that object's `default` (true at run time and in its types).
ajvFormats.default(ajv);
const documentSchemas = jsonFiles(schemaDir);
for (const f of documentSchemas) ajv.addSchema(readJson(path.join(schemaDir, f)));

let commandIds: string[];
/** Command ids whose successful --json document matched its schema at least once. */
const checked = new Set<string>();

function expectMatches(schemaFile: string, doc: unknown, what: string): void {
  const validate = ajv.getSchema(schemaFile);
  if (!validate) throw new Error(`no schema cli/schemas/${schemaFile}`);
  validate(doc);
  expect(
    validate.errors ?? [],
    `${what} does not match cli/schemas/${schemaFile}:\n${JSON.stringify(doc, null, 2).slice(0, 4000)}`,
  ).toEqual([]);
}

let dir: string;

interface Run {
  exitCode: number;
  stderr: string;
  doc: unknown;
}

async function orgplane(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const res = await execa(process.execPath, [bin, ...args, '--json'], {
    cwd: opts.cwd ?? dir,
    reject: false,
    // Only the lab's saved context counts here, never a developer's ORGPLANE_*.
    env: { ORGPLANE_URL: undefined, ORGPLANE_TOKEN: undefined, ORGPLANE_LAB_DIR: undefined, ...opts.env },
    stdin: 'ignore',
  });
  let doc: unknown;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    throw new Error(`orgplane ${args.join(' ')} --json printed no single JSON document:\n${res.stdout}\n${res.stderr}`);
  }
  return { exitCode: res.exitCode ?? -1, stderr: res.stderr, doc };
}

/** Run `orgplane <command id as words> ...args --json`; it must succeed and match the command's schema. */
async function succeeds<T>(commandId: string, args: string[] = [], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<T> {
  const words = [...commandId.split(':'), ...args];
  const res = await orgplane(words, opts);
  expect(res.exitCode, `orgplane ${words.join(' ')} --json\n${res.stderr}\n${JSON.stringify(res.doc)}`).toBe(0);
  expectMatches(schemaFileOf(commandId), res.doc, `orgplane ${words.join(' ')} --json`);
  checked.add(commandId);
  return res.doc as T;
}

/** Polls the lab's control plane until the move is in one of `states`; gives up after `limitMs`. */
async function waitForMove(status: LabStatusResult, id: string, states: string[], limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const res = await fetch(`${status.controlPlane.url}/v1/moves/${id}`, {
      headers: { authorization: `Bearer ${status.controlPlane.token}` },
    });
    const move = (await res.json()) as Move;
    if (states.includes(move.state)) return;
    if (Date.now() > deadline) throw new Error(`move ${id} is ${move.state} after ${limitMs} ms, not ${states.join(' or ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Run a command that must fail: its --json document matches error.json and names the error. */
async function fails(args: string[], code: string, opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<void> {
  const res = await orgplane(args, opts);
  const what = `orgplane ${args.join(' ')} --json`;
  expectMatches(ERROR_SCHEMA, res.doc, what);
  const error = (res.doc as { error: { code: string; exitCode: number } }).error;
  expect(error.code, what).toBe(code);
  expect(res.exitCode, what).toBe(error.exitCode);
}

beforeAll(async () => {
  const config = await Config.load(cliRoot);
  commandIds = ownCommandIds(config);
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-schemas-'));
  await chmod(dir, 0o755); // the postgres OS user must reach the lab below it
  // Failed move steps are retried quickly and only twice, so a move fails within a test.
  await succeeds<LabUpResult>('lab:up', ['--orgs', '200'], {
    env: { ORGPLANE_MOVE_RETRY_BASE_MS: '100', ORGPLANE_MOVE_MAX_FAILURES: '2' },
  });
}, 300_000);

afterAll(async () => {
  if (!dir) return;
  await orgplane(['lab', 'down', '--purge', '--yes']).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('--json documents match cli/schemas', () => {
  it('every command has a schema, and every schema belongs to a command or to errors', () => {
    expect(commandIds.length).toBeGreaterThan(0);
    const expected = [...commandIds.map(schemaFileOf), ERROR_SCHEMA].sort();
    expect(documentSchemas, 'cli/schemas/*.json: one <topic>-<verb>.json per command, plus error.json').toEqual(expected);
    for (const f of documentSchemas) expect(ajv.getSchema(f), f).toBeTypeOf('function'); // each compiles in strict mode
  });

  it('lab up, first and again, and lab status', async () => {
    const again = await succeeds<LabUpResult>('lab:up');
    expect(again.alreadyRunning).toBe(true);
    const status = await succeeds<LabStatusResult>('lab:status');
    expect(status.state).toBe('running');
  });

  it('clusters list, shards list, split and assign', async () => {
    const clusters = await succeeds<ClustersListResult>('clusters:list');
    const map = await succeeds<ShardsListResult>('shards:list');
    const last = map.ranges.at(-1)!;
    // Past the lab's orgs: the assign routes an empty span (one holding rows would be refused).
    const at = Math.max(last.lo + 10, 1_000_000);
    const split = await succeeds<ShardsSplitResult>('shards:split', [
      '--at',
      String(at),
      '--expected-version',
      String(map.version),
      '--reason',
      'schemas',
    ]);
    expect(split.version).toBe(map.version + 1);
    const to = clusters.clusters.map((c) => c.id).find((id) => id !== last.clusterId)!;
    await succeeds('shards:assign', ['--range', `${at}-${ORG_ID_MAX}`, '--to', to, '--yes']);
  });

  it('orgs locate, for an org on its range and for a pinned org', async () => {
    await succeeds('orgs:locate', ['42']);
    // A pin to another cluster than its range's (as a move leaves): through the API, as `orgs pin` never does that;
    // with dataOn, as org 7's rows stay where they are (the guard would refuse it otherwise).
    const status = await succeeds<LabStatusResult>('lab:status');
    const res = await fetch(`${status.controlPlane.url}/v1/placements/7`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${status.controlPlane.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ clusterId: 'primary-3', dataOn: 'primary-3', reason: 'schemas' }),
    });
    expect(res.status, await res.text()).toBe(200);
    await succeeds('orgs:locate', ['7']);
    await succeeds('shards:list');
  });

  it('orgs pin, pins and unpin', async () => {
    const pinned = await succeeds<OrgsPinResult>('orgs:pin', ['8', '--reason', 'schemas']);
    expect(pinned.changed).toBe(true);
    await succeeds('orgs:pins');
    await succeeds('orgs:pins', ['--cluster', pinned.placement.clusterId, '--limit', '1']);
    await succeeds('orgs:unpin', ['8', '--yes']);
  });

  it('replicas list, settings, drain, undrain, add, remove; clusters add, update; lab replica faults', async () => {
    const listed = await succeeds<{ replicas: { id: string }[] }>('replicas:list');
    const replica = listed.replicas[0]!.id;
    await succeeds('replicas:list', ['--cluster', 'primary-1']);
    await succeeds('replicas:settings');
    await succeeds('replicas:settings', ['--lag-warn-seconds', '5']);
    await succeeds('replicas:drain', [replica, '--reason', 'schemas']);
    await succeeds('replicas:undrain', [replica]);
    await succeeds('clusters:add', ['primary-9', '--primary-url', 'postgres://app:pw@127.0.0.1:1/app', '--state', 'draining']);
    await succeeds('clusters:update', ['primary-9', '--state', 'retired']);
    await succeeds('replicas:add', ['primary-9-replica-1', '--cluster', 'primary-9', '--url', 'postgres://app:pw@127.0.0.1:1/app']);
    await succeeds('replicas:remove', ['primary-9-replica-1', '--yes']);
    await succeeds('lab:replica:pause-replay', [replica]);
    await succeeds('lab:replica:resume-replay', [replica]);
    await succeeds('lab:replica:stop', [replica]);
    await succeeds('lab:replica:start', [replica]);
    await fails(['lab', 'replica', 'stop', 'nope'], 'LAB_REPLICA_NOT_FOUND');
    await fails(['replicas', 'drain', 'nope'], 'REPLICA_NOT_FOUND');
  });

  it('limits list, set and unset; cors list, add and remove', async () => {
    await succeeds('limits:set', ['--org', '8', '--subject', 'user', '--limit', '10', '--window', '1s', '--reason', 'schemas']);
    await succeeds('limits:list');
    await succeeds('limits:unset', ['--org', '8', '--subject', 'user', '--yes']);
    await succeeds('cors:add', ['https://schemas.example.com']);
    await succeeds('cors:list');
    await succeeds('cors:remove', ['https://schemas.example.com', '--yes']);
  });

  it('shards merge, of a range split a moment ago', async () => {
    const map = await succeeds<ShardsListResult>('shards:list');
    const first = map.ranges[0]!;
    await succeeds('shards:split', ['--at', String(first.lo + 5)]);
    const merged = await succeeds<ShardsMergeResult>('shards:merge', ['--range', `${first.lo}-${first.hi}`, '--reason', 'schemas']);
    expect(merged.ranges[0]).toEqual(first);
  });

  it('tokens create, list and revoke', async () => {
    const created = await succeeds<TokensCreateResult>('tokens:create', ['--name', 'schemas', '--scope', 'sdk:read']);
    await succeeds('tokens:list');
    await succeeds('tokens:revoke', [created.id, '--yes']);
  });

  it('shards history and audit list, with every kind of delta', async () => {
    const history = await succeeds<ShardsHistoryResult>('shards:history', ['--limit', '100']);
    const parts = new Set(history.changes.flatMap((c) => Object.keys(c.delta as object)));
    // limits and cors changes (made above) are config versions too.
    expect([...parts].sort()).toEqual(['action', 'clusters', 'corsOrigins', 'placements', 'ranges', 'rateLimits', 'replicas', 'version']);
    await succeeds('audit:list', ['--limit', '100']);
  });

  it('orgs move and every moves verb, through each outcome', async () => {
    // 200 orgs: 1-67 on primary-1, 68-134 on primary-2, 135-200 on primary-3.
    const one = await succeeds<OrgsMoveResult>('orgs:move', ['12', '--to', 'primary-2', '--follow']);
    expect(one.outcome).toBe('arrived');
    const flipped = one.moves[0] as Move;
    await succeeds('moves:list');
    await succeeds('moves:list', ['--org', '12', '--state', 'flipped']);
    await succeeds('moves:show', [flipped.id]);
    expect((await succeeds<Move>('moves:rollback', [flipped.id, '--yes', '--follow'])).state).toBe('rolled_back');
    const two = await succeeds<OrgsMoveResult>('orgs:move', ['13', '14', '--to', 'primary-3', '--follow']);
    expect((await succeeds<Move>('moves:complete', [two.moves[0]!.id, '--yes', '--follow'])).state).toBe('completed');
    await succeeds('moves:rollback', [two.moves[1]!.id, '--yes']); // not followed: as the API answered

    // One at a time, the first held in its copy by a lock on a table it copies: the
    // batch's other moves wait their turn however fast the machine (unheld, a small batch
    // could flip before the abort arrives).
    const status = await succeeds<LabStatusResult>('lab:status');
    const source = new pg.Client({ connectionString: status.clusters.find((c) => c.id === 'primary-2')!.primary.url });
    await source.connect();
    let aborted: Move;
    try {
      await source.query('BEGIN');
      await source.query('LOCK TABLE revenues IN ACCESS EXCLUSIVE MODE');
      const started = await succeeds<OrgsMoveResult>('orgs:move', [
        '--from',
        'primary-2',
        '--to',
        'primary-3',
        '--percent',
        '10',
        '--concurrency',
        '1',
      ]);
      expect(started.outcome).toBe('started');
      const pending = (await succeeds<{ moves: Move[] }>('moves:list', ['--batch', started.batch.id, '--state', 'pending'])).moves;
      const victim = pending[0]!;
      const aborting = succeeds<Move>('moves:abort', [victim.id, '--yes', '--follow']);
      // The abort runs in the batch's one slot, which the held move keeps: let it go once the abort is in.
      await waitForMove(status, victim.id, ['aborting', 'aborted']);
      await source.query('ROLLBACK');
      aborted = await aborting;
    } finally {
      await source.end();
    }
    expect(aborted.state).toBe('aborted');

    // A target that refuses the copy makes a failed move, for resume.
    const target = new pg.Client({ connectionString: status.clusters.find((c) => c.id === 'primary-2')!.primary.url });
    await target.connect();
    try {
      await target.query(`CREATE FUNCTION schemas_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
        CREATE TRIGGER schemas_refuse BEFORE INSERT ON organizations FOR EACH ROW EXECUTE FUNCTION schemas_refuse();
        ALTER TABLE organizations ENABLE ALWAYS TRIGGER schemas_refuse;`);
      const res = await orgplane(['orgs', 'move', '20', '--to', 'primary-2', '--follow']);
      expect(res.exitCode, res.stderr).toBe(1); // followed to a stop: the document, exit 1
      expectMatches('orgs-move.json', res.doc, 'orgplane orgs move 20 --to primary-2 --follow --json');
      const failed = (res.doc as OrgsMoveResult).moves[0]!;
      expect(failed.state).toBe('failed');
      await target.query('DROP TRIGGER schemas_refuse ON organizations; DROP FUNCTION schemas_refuse()');
      expect((await succeeds<Move>('moves:resume', [failed.id, '--follow'])).state).toBe('flipped');
    } finally {
      await target.end();
    }
  }, 300_000);

  it('shards move --range and shards rebalance, a dry run and for real', async () => {
    // The last range (past the lab's orgs, assigned above) moves whole to another cluster;
    // the third cluster rebalances 10 % of its rows to that one. Not followed: as the API answered.
    const clusters = ['primary-1', 'primary-2', 'primary-3'];
    const last = (await succeeds<ShardsListResult>('shards:list')).ranges.at(-1)!;
    const to = clusters.find((c) => c !== last.clusterId)!;
    const from = clusters.find((c) => c !== last.clusterId && c !== to)!;
    const moved = await succeeds<ShardsMoveResult>('shards:move', ['--range', `${last.lo}-${last.hi}`, '--to', to, '--copy-streams', '2']);
    expect(moved.moves[0]).toMatchObject({ kind: 'range', range: { lo: last.lo, hi: last.hi } });
    const planned = await succeeds<ShardsRebalanceResult>('shards:rebalance', ['--from', from, '--to', to, '--percent', '10', '--dry-run']);
    expect('batch' in planned).toBe(false);
    const started = await succeeds<ShardsRebalanceResult>('shards:rebalance', [
      '--from',
      from,
      '--to',
      to,
      '--percent',
      '10',
      '--by',
      'rows',
      '--reason',
      'schemas',
    ]);
    expect(started).toMatchObject({ outcome: 'started' });
  });

  it('runbooks list and show', async () => {
    const list = await succeeds<RunbooksListResult>('runbooks:list');
    expect(list.runbooks.length).toBeGreaterThan(0);
    await succeeds('runbooks:show', [list.runbooks[0]!.name]);
  });

  it('pilot select, cohorts, and a rollout through every state change and the watch', async () => {
    const pilot = await succeeds<PilotSelectResult>('pilot:select', ['--count', '20', '--seed', '3', '--name', 'pilot-schemas']);
    expect(pilot.cohort.size).toBe(20);
    await succeeds('cohorts:list');
    await succeeds('cohorts:show', ['pilot-schemas', '--limit', '5']);
    await succeeds('cohorts:export', ['pilot-schemas', '--page-size', '7']);
    await succeeds('cohorts:export', ['pilot-schemas', '--output', path.join(dir, 'pilot.csv')]);
    await succeeds('rollouts:create', [
      'schemas-flag',
      '--stages',
      'pilot,10,50,100',
      '--pilot-cohort',
      'pilot-schemas',
      '--check',
      'errors:sum(rate(http_requests_total{code=~"5.."}[5m]))<1',
    ]);
    await succeeds('rollouts:advance', ['schemas-flag']);
    await succeeds('rollouts:advance', ['schemas-flag']);
    await succeeds('rollouts:set', ['schemas-flag', '30']);
    await succeeds('rollouts:pause', ['schemas-flag']);
    await succeeds('rollouts:resume', ['schemas-flag']);
    await succeeds('rollouts:rollback', ['schemas-flag', '--yes']);
    await succeeds('rollouts:watch', ['schemas-flag']);
    await succeeds('rollouts:show', ['schemas-flag']);
    await succeeds('rollouts:kill', ['schemas-flag', '--yes']);
    await succeeds('rollouts:list');
    // Rollout changes are config changes and audited: their deltas and actions too.
    const history = await succeeds<ShardsHistoryResult>('shards:history', ['--limit', '20']);
    expect(history.changes.some((c) => 'rollouts' in (c.delta as object))).toBe(true);
    expect(history.changes.some((c) => 'cohorts' in (c.delta as object))).toBe(true);
    await succeeds('audit:list', ['--limit', '20']);
  }, 300_000);

  it('failures print the error document', async () => {
    await fails(['orgs', 'locate', 'abc'], 'INVALID_ORG_ID');
    await fails(['shards', 'split', '--at', '4242', '--expected-version', '1'], 'VERSION_CONFLICT');
    await fails(['shards', 'assign', '--range', `0-${ORG_ID_MAX}`, '--to', 'nope-9', '--yes'], 'CLUSTER_NOT_FOUND');
    await fails(['shards', 'assign', '--range', `0-${ORG_ID_MAX}`, '--to', 'primary-1'], 'CONFIRMATION_REQUIRED');
    await fails(['shards', 'list', '--bogus'], 'INVALID_ARGUMENTS');
    await fails(['runbooks', 'show', 'no-such-runbook'], 'RUNBOOK_NOT_FOUND');
    await fails(['lab', 'up', '--orgs', '0'], 'LAB_INVALID_INPUT');
    await fails(['rollouts', 'set', 'schemas-flag', '101'], 'INVALID_PERCENT');
    await fails(['rollouts', 'show', 'no-such-flag'], 'ROLLOUT_NOT_FOUND');
    await fails(['cohorts', 'show', 'no-such-cohort'], 'COHORT_NOT_FOUND');
    await fails(['rollouts', 'create', 'x', '--stages', '10,5'], 'INVALID_STAGES');
    await fails(['orgs', 'move', '42', '--to', 'nope-9'], 'CLUSTER_NOT_FOUND');
    await fails(['orgs', 'move', '42', '42', '--to', 'primary-2'], 'INVALID_INPUT');
    await fails(['orgs', 'move', '--from', 'primary-1', '--to', 'primary-2', '--percent', '101'], 'INVALID_INPUT');
    await fails(['moves', 'show', 'mv_0000000000000000'], 'MOVE_NOT_FOUND');
    await fails(['moves', 'complete', 'mv_0000000000000000'], 'CONFIRMATION_REQUIRED');
    await fails(['orgs', 'unpin', '7', '--yes'], 'PLACEMENT_OFF_RANGE');
    await fails(['orgs', 'unpin', '9', '--yes'], 'PLACEMENT_NOT_FOUND');
    await fails(['shards', 'merge', '--range', '0-5'], 'INVALID_RANGES');
    await fails(['shards', 'move', '--range', '9-1', '--to', 'primary-2'], 'INVALID_RANGE');
    await fails(['shards', 'move', '--range', '5-9', '--to', 'primary-2'], 'RANGE_NOT_ALIGNED');
    await fails(['shards', 'rebalance', '--from', 'primary-1', '--to', 'primary-2', '--percent', '100'], 'INVALID_INPUT');
    await fails(['tokens', 'create', '--name', 'x', '--scope', 'root'], 'INVALID_SCOPE');
    await fails(['tokens', 'revoke', '0123456789abcdef', '--yes'], 'TOKEN_NOT_FOUND');
    const status = await succeeds<LabStatusResult>('lab:status');
    await fails(['shards', 'list'], 'UNAUTHORIZED', { env: { ORGPLANE_URL: status.controlPlane.url, ORGPLANE_TOKEN: 'op_nope_nope' } });
  }, 120_000);

  it('outside any lab: no context, and no lab to report on', async () => {
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'orgplane-schemas-nolab-'));
    try {
      await fails(['shards', 'list'], 'NO_CONTEXT', { cwd: elsewhere });
      await fails(['lab', 'status'], 'LAB_NOT_FOUND', { cwd: elsewhere });
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  // Last but one: it stops the lab the tests above share.
  it('lab down, then lab status of the stopped lab', async () => {
    await succeeds('lab:down');
    const status = await succeeds<LabStatusResult>('lab:status');
    expect(status.state).toBe('stopped');
  });

  it('every command was checked against a real document', () => {
    expect([...checked].sort(), 'commands never run by this test: add them above').toEqual(commandIds);
  });
});
