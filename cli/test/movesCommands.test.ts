// Org moves end to end: the real `orgplane` binary against one real lab, moving real
// rows between its clusters. What an operator would notice: where the org is served
// from afterwards, that its rows arrived whole, the documents and exit codes of every
// verb, and that bad input changes nothing.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ORG_ID_MAX } from '@orgplane/runtime/wire';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabStatusResult } from '../src/commands/lab/status.js';
import type { OrgsMoveResult } from '../src/commands/orgs/move.js';
import type { Move } from '../src/moves/types.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'cli', 'bin', 'run.js');
const TABLES = ['organizations', 'properties', 'users', 'staff', 'guests', 'expenses', 'revenues'];

let dir: string;
let lab: LabStatusResult & { state: 'running' };

interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary --json documents
  json: any;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const res = await execa(process.execPath, [bin, ...args], {
    cwd: dir,
    reject: false,
    env: { ORGPLANE_URL: undefined, ORGPLANE_TOKEN: undefined, ORGPLANE_LAB_DIR: undefined, ...env },
    stdin: 'ignore',
  });
  let json: unknown;
  if (args.includes('--json')) json = JSON.parse(res.stdout); // exactly one JSON document
  return { exitCode: res.exitCode ?? -1, stdout: res.stdout, stderr: res.stderr, json };
}

async function ok(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const res = await cli(args, env);
  expect(res.exitCode, `orgplane ${args.join(' ')}\n${res.stderr}\n${res.stdout}`).toBe(0);
  return res;
}

async function sql<T extends pg.QueryResultRow>(clusterId: string, text: string, params: unknown[] = []): Promise<T[]> {
  const url = lab.clusters.find((c) => c.id === clusterId)?.primary.url;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** A transaction on the cluster's primary holding `table` locked until release(). */
async function holdTable(clusterId: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: lab.clusters.find((c) => c.id === clusterId)?.primary.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  let released: Promise<void> | undefined;
  return {
    release: () => {
      released ??= client.query('ROLLBACK').then(() => client.end());
      return released;
    },
  };
}

/** md5 over an org's rows in every tenant table, in a stable order: equal means the same rows. */
async function orgChecksum(clusterId: string, orgId: number): Promise<string> {
  const parts: string[] = [];
  for (const table of TABLES) {
    const [row] = await sql<{ sum: string | null; n: string }>(
      clusterId,
      `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS sum, count(*) AS n FROM ${table} t WHERE org_id = $1`,
      [orgId],
    );
    parts.push(`${table}:${row?.n}:${row?.sum ?? 'none'}`);
  }
  return parts.join(',');
}

async function orgRows(clusterId: string, orgId: number): Promise<number> {
  let total = 0;
  for (const table of TABLES) {
    const [row] = await sql<{ n: string }>(clusterId, `SELECT count(*) AS n FROM ${table} WHERE org_id = $1`, [orgId]);
    total += Number(row?.n);
  }
  return total;
}

/** An org move's org: every move here is one, until the range move at the end. */
function orgOf(m: Move): number {
  expect(m).toMatchObject({ kind: 'org', range: null });
  return m.orgId as number;
}

async function located(orgId: number): Promise<string> {
  return (await ok(['orgs', 'locate', String(orgId), '--json'])).json.clusterId;
}

/**
 * Reads the move until it is in one of `states` (a move the executor runs on its own);
 * gives up after `limitMs`, well before the tests' timeout, saying where the move is.
 */
async function until(id: string, states: string[], limitMs = 60_000): Promise<Move> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const m: Move = (await ok(['moves', 'show', id, '--json'])).json;
    if (states.includes(m.state)) return m;
    if (Date.now() > deadline)
      throw new Error(`move ${id} is ${m.state} after ${limitMs} ms, not ${states.join(' or ')}: ${m.error ?? ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-moves-e2e-'));
  await chmod(dir, 0o755); // the postgres OS user must reach the lab below it
  // 3 clusters of 100 orgs: 1-100 on primary-1, 101-200 on primary-2, 201-300 on primary-3.
  // The lab's control plane inherits this environment: a failing move step is retried
  // quickly and only twice, so a move fails within a test.
  await ok(['lab', 'up', '--orgs', '300', '--json'], { ORGPLANE_MOVE_RETRY_BASE_MS: '100', ORGPLANE_MOVE_MAX_FAILURES: '2' });
  lab = (await ok(['lab', 'status', '--json'])).json;
}, 300_000);

afterAll(async () => {
  await cli(['lab', 'down', '--purge', '--yes', '--json']);
  await rm(dir, { recursive: true, force: true });
}, 120_000);

// Each test runs many CLI processes (about a second each on a busy machine).
describe('orgplane orgs move and moves', { timeout: 300_000 }, () => {
  let first: Move;
  let batch: Move[];

  it('moves one org with --follow --json: verified table by table, whole on the target, served from there', async () => {
    expect(await located(42)).toBe('primary-1');
    const before = await orgChecksum('primary-1', 42);
    const res = await ok(['orgs', 'move', '42', '--to', 'primary-2', '--reason', 'e2e', '--follow', '--json']);
    const doc: OrgsMoveResult = res.json;
    expect(doc).toMatchObject({ followed: true, outcome: 'arrived', batch: { to: 'primary-2', total: 1, counts: { flipped: 1 } } });
    expect(doc.moves).toHaveLength(1);
    first = doc.moves[0] as Move;
    expect(first).toMatchObject({
      kind: 'org',
      orgId: 42,
      range: null,
      from: 'primary-1',
      to: 'primary-2',
      state: 'flipped',
      batchId: doc.batch.id,
    });
    // An org move's tables have no span estimate; it copies in one stream, from the primary.
    expect(first).toMatchObject({ pinnedOrgs: 0, copyStreams: 1 });
    for (const t of first.tables ?? []) expect(t.estimatedRows, t.table).toBeNull();
    expect(first.tables?.map((t) => t.table).sort()).toEqual([...TABLES].sort());
    // The executor verifies under the fence; where it records the result per table, it must agree.
    for (const t of first.tables ?? []) {
      if (t.sourceRows !== null) expect(t.targetRows, t.table).toBe(t.sourceRows);
      if (t.sourceChecksum !== null) expect(t.targetChecksum, t.table).toBe(t.sourceChecksum);
    }
    expect(first.progress.rowsCopied).toBe((first.tables ?? []).reduce((n, t) => n + t.rowsCopied, 0));
    expect(first.progress.rowsCopied).toBeGreaterThan(0);
    expect(first.progress.lastFenceMs).toBeTypeOf('number');
    expect(first.events?.map((e) => e.state)).toEqual(expect.arrayContaining(['copying', 'flipped']));
    expect(await orgChecksum('primary-2', 42)).toBe(before);
    const where = await ok(['orgs', 'locate', '42', '--json']);
    expect(where.json).toMatchObject({ clusterId: 'primary-2', source: 'placement' });
    // Without a terminal, --follow draws nothing: stdout is the document, stderr is empty.
    expect(res.stderr).toBe('');
  });

  it('moves a share of a cluster as one batch', async () => {
    const res = await ok([
      'orgs',
      'move',
      '--from',
      'primary-3',
      '--to',
      'primary-1',
      '--percent',
      '5',
      '--concurrency',
      '2',
      '--follow',
      '--json',
    ]);
    const doc: OrgsMoveResult = res.json;
    expect(doc.batch).toMatchObject({ from: 'primary-3', to: 'primary-1', percent: 5, concurrency: 2, total: 5, counts: { flipped: 5 } });
    batch = doc.moves;
    expect(batch).toHaveLength(5); // 5 % of primary-3's 100 orgs
    for (const m of batch) {
      expect(m.state).toBe('flipped');
      expect(orgOf(m)).toBeGreaterThanOrEqual(201);
      expect(orgOf(m)).toBeLessThanOrEqual(300);
      expect(await located(orgOf(m))).toBe('primary-1');
    }
  });

  it('lists and shows moves', async () => {
    const all: Move[] = (await ok(['moves', 'list', '--json'])).json.moves;
    expect(all.map((m) => m.id)).toEqual(expect.arrayContaining([first.id, ...batch.map((m) => m.id)]));
    const created = all.map((m) => m.createdAt);
    expect(created).toEqual([...created].sort().reverse()); // newest first
    const ofBatch: Move[] = (await ok(['moves', 'list', '--batch', batch[0]?.batchId as string, '--json'])).json.moves;
    expect(ofBatch.map((m) => m.id).sort()).toEqual(batch.map((m) => m.id).sort());
    const ofOrg: Move[] = (await ok(['moves', 'list', '--org', '42', '--json'])).json.moves;
    expect(ofOrg.map((m) => m.id)).toEqual([first.id]);
    const flipped: Move[] = (await ok(['moves', 'list', '--state', 'flipped', '--limit', '3', '--json'])).json.moves;
    expect(flipped).toHaveLength(3);
    const shown: Move = (await ok(['moves', 'show', first.id, '--json'])).json;
    expect(shown).toMatchObject({ id: first.id, orgId: 42, state: 'flipped' });
    expect(shown.tables).toHaveLength(TABLES.length);
    const human = await ok(['moves', 'show', first.id]);
    expect(human.stdout).toContain('org 42  primary-1 -> primary-2  flipped');
    expect(human.stdout).toContain(`orgplane moves rollback ${first.id}`);
    const table = await ok(['moves', 'list', '--org', '42']);
    expect(table.stdout).toMatch(new RegExp(`${first.id}\\s+42\\s+primary-1\\s+primary-2\\s+flipped`));
  });

  it('refuses bad input with a named error and an exit code, and changes nothing', async () => {
    const moves = async () => (await ok(['moves', 'list', '--limit', '1000', '--json'])).json;
    const version = async () => (await ok(['shards', 'list', '--json'])).json.version;
    const [movesBefore, versionBefore] = [await moves(), await version()];
    const cases: [string[], string, number][] = [
      [['orgs', 'move', '99999', '--to', 'primary-1'], 'ORG_NOT_FOUND', 4],
      [['orgs', 'move', '43', '--to', 'nope-9'], 'CLUSTER_NOT_FOUND', 4],
      [['orgs', 'move', '--from', 'nope-9', '--to', 'primary-1', '--percent', '10'], 'CLUSTER_NOT_FOUND', 4],
      [['orgs', 'move', '43', '--to', 'primary-1'], 'ALREADY_ON_CLUSTER', 5],
      [['orgs', 'move', '42', '--to', 'primary-1'], 'ORG_ALREADY_MOVING', 5],
      [['orgs', 'move', '--from', 'primary-1', '--to', 'primary-2', '--percent', '101'], 'INVALID_INPUT', 2],
      [['orgs', 'move', '--from', 'primary-1', '--to', 'primary-2', '--percent', '-1'], 'INVALID_INPUT', 2],
      [['orgs', 'move', '--from', 'primary-1', '--to', 'primary-2'], 'INVALID_INPUT', 2],
      [['orgs', 'move', '43', '--to', 'primary-2', '--from', 'primary-1', '--percent', '10'], 'INVALID_INPUT', 2],
      [['orgs', 'move', '43', '43', '--to', 'primary-2'], 'INVALID_INPUT', 2],
      [['orgs', 'move', '43'], 'INVALID_ARGUMENTS', 2],
      [['orgs', 'move', 'abc', '--to', 'primary-2'], 'INVALID_ORG_ID', 2],
      [['orgs', 'move', '43', '--to', 'primary-2', '--concurrency', '0'], 'INVALID_ARGUMENTS', 2],
      [['moves', 'show', 'mv_nope'], 'MOVE_NOT_FOUND', 4],
      [['moves', 'rollback', 'mv_nope', '--yes'], 'MOVE_NOT_FOUND', 4],
      [['moves', 'complete', first.id], 'CONFIRMATION_REQUIRED', 2],
      [['moves', 'abort', first.id, '--yes'], 'INVALID_MOVE_STATE', 5],
      [['moves', 'resume', first.id], 'INVALID_MOVE_STATE', 5],
      [['moves', 'list', '--state', 'bogus'], 'INVALID_ARGUMENTS', 2],
    ];
    for (const [args, code, exit] of cases) {
      const res = await cli([...args, '--json']);
      const what = `orgplane ${args.join(' ')}`;
      expect(res.json?.error?.code, `${what}\n${res.stdout}`).toBe(code);
      expect(res.exitCode, what).toBe(exit);
      expect(res.json.error.hint, what).toBeTruthy();
    }
    const moving = await cli(['orgs', 'move', '42', '--to', 'primary-1', '--json']);
    expect(moving.json.error.hint).toContain(`orgplane moves show ${first.id}`);
    const stateHint = await cli(['moves', 'abort', first.id, '--yes', '--json']);
    expect(stateHint.json.error.hint).toContain('flipped');
    expect(await moves()).toEqual(movesBefore);
    expect(await version()).toBe(versionBefore);
    expect(await located(43)).toBe('primary-1');
  });

  it('rolls back with --yes: the org is served by its source again, with what was written on the target', async () => {
    await sql('primary-2', `UPDATE organizations SET name = 'renamed on primary-2' WHERE org_id = 42`);
    const res = await ok(['moves', 'rollback', first.id, '--yes', '--reason', 'e2e', '--follow', '--json']);
    expect(res.json).toMatchObject({ id: first.id, state: 'rolled_back' });
    expect(await located(42)).toBe('primary-1');
    const [row] = await sql<{ name: string }>('primary-1', 'SELECT name FROM organizations WHERE org_id = 42');
    expect(row?.name).toBe('renamed on primary-2');
    // A finished move can be neither rolled back again nor completed.
    const again = await cli(['moves', 'complete', first.id, '--yes', '--json']);
    expect([again.exitCode, again.json.error.code]).toEqual([5, 'INVALID_MOVE_STATE']);
  });

  it('completes with --yes: the source rows are deleted and the org stays on the target', async () => {
    const m = batch[0] as Move;
    const onTarget = await orgRows('primary-1', orgOf(m));
    expect(onTarget).toBeGreaterThan(0);
    const res = await ok(['moves', 'complete', m.id, '--yes', '--follow', '--json']);
    expect(res.json).toMatchObject({ id: m.id, state: 'completed' });
    expect(res.json.completedAt).toBeTypeOf('string');
    expect(await orgRows('primary-3', orgOf(m))).toBe(0);
    expect(await orgRows('primary-1', orgOf(m))).toBe(onTarget);
    expect(await located(orgOf(m))).toBe('primary-1');
    const back = await cli(['moves', 'rollback', m.id, '--yes', '--json']);
    expect([back.exitCode, back.json.error.code]).toEqual([5, 'INVALID_MOVE_STATE']);
  });

  it('a move the target refuses fails with its error, stays on the source, and resume carries it to the flip', async () => {
    // A trigger that fires even for the mover's replica-role sessions makes every copy fail.
    await sql(
      'primary-2',
      `CREATE FUNCTION e2e_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'e2e: target refuses guests'; END $$;
       CREATE TRIGGER e2e_refuse BEFORE INSERT ON guests FOR EACH ROW EXECUTE FUNCTION e2e_refuse();
       ALTER TABLE guests ENABLE ALWAYS TRIGGER e2e_refuse;`,
    );
    let failed: Move;
    try {
      const res = await cli(['orgs', 'move', '50', '--to', 'primary-2', '--follow', '--json']);
      expect(res.exitCode, res.stdout).toBe(1);
      expect(res.json).toMatchObject({ followed: true, outcome: 'stopped', batch: { counts: { failed: 1 } } });
      failed = res.json.moves[0];
      expect(failed.state).toBe('failed');
      expect(failed.error).toContain('e2e: target refuses guests');
      expect(await located(50)).toBe('primary-1');
      const human = await cli(['moves', 'show', failed.id]);
      expect(human.stdout).toContain(`orgplane moves resume ${failed.id}`);
    } finally {
      await sql('primary-2', 'DROP TRIGGER IF EXISTS e2e_refuse ON guests; DROP FUNCTION IF EXISTS e2e_refuse()');
    }
    const before = await orgChecksum('primary-1', 50);
    const resumed = await ok(['moves', 'resume', failed.id, '--reason', 'trigger dropped', '--follow', '--json']);
    expect(resumed.json).toMatchObject({ id: failed.id, state: 'flipped' });
    expect(await located(50)).toBe('primary-2');
    expect(await orgChecksum('primary-2', 50)).toBe(before);
  });

  it('aborts a move before its flip: the source keeps serving, the target keeps nothing', async () => {
    // One at a time, the first held in its copy by a lock on a table it copies: the
    // batch's other moves wait their turn however fast the machine (unheld, a small batch
    // could flip before the abort arrives).
    const held = await holdTable('primary-2', 'revenues');
    let started: CliRun;
    let victim: Move;
    let res: CliRun;
    try {
      started = await ok(['orgs', 'move', '--from', 'primary-2', '--to', 'primary-3', '--percent', '10', '--concurrency', '1', '--json']);
      expect(started.json).toMatchObject({ followed: false, outcome: 'started' });
      const pending: Move[] = (await ok(['moves', 'list', '--batch', started.json.batch.id, '--state', 'pending', '--json'])).json.moves;
      expect(pending.length).toBeGreaterThan(0);
      victim = pending[0] as Move;
      const aborting = ok(['moves', 'abort', victim.id, '--yes', '--follow', '--json']);
      // The abort runs in the batch's one slot, which the held move keeps: let it go once the abort is in.
      await until(victim.id, ['aborting', 'aborted']);
      await held.release();
      res = await aborting;
    } finally {
      await held.release();
    }
    expect(res.json).toMatchObject({ id: victim.id, state: 'aborted' });
    expect(await located(orgOf(victim))).toBe('primary-2');
    expect(await orgRows('primary-3', orgOf(victim))).toBe(0);
    // The rest of the batch goes on.
    const others = started.json.moves.filter((m: Move) => m.id !== victim.id);
    for (const m of others) await until(m.id, ['flipped']);
  });

  it('a range move reads in moves list, show and --follow: its span where the org id goes, rows of the estimate, pinned orgs left alone', async () => {
    // primary-3 serves [201, ORG_ID_MAX]. The batch moved five of its orgs to primary-1 and
    // pinned them there: complete those moves (a range move refuses a span with unfinished
    // org moves in it), and the range move leaves the five alone.
    for (const m of batch.slice(1)) await ok(['moves', 'complete', m.id, '--yes', '--follow', '--json']);
    const pinned = batch.map(orgOf);
    const stay = [201, 202, 203, 204, 205, 206].find((id) => !pinned.includes(id)) as number;
    const rowsBefore = await orgRows('primary-3', stay);
    // `shards move --range` comes with the rebalancing commands; the API creates the same move.
    const res = await fetch(`${lab.controlPlane.url}/v1/moves`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lab.controlPlane.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ range: { lo: 201, hi: ORG_ID_MAX }, to: 'primary-2', reason: 'e2e range move' }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const created = ((await res.json()) as { moves: Move[] }).moves[0] as Move;
    expect(created).toMatchObject({
      kind: 'range',
      orgId: null,
      range: { lo: 201, hi: ORG_ID_MAX },
      pinnedOrgs: 5,
      copyStreams: 4,
      readFrom: 'replica',
    });

    const flipped = await until(created.id, ['flipped']);
    expect(await located(stay)).toBe('primary-2');
    expect(await located(pinned[0] as number)).toBe('primary-1'); // pinned: left alone
    // Every table counted its span's rows when the move prepared, and copied exactly those.
    expect(flipped.tables?.map((t) => t.table).sort()).toEqual([...TABLES].sort());
    for (const t of flipped.tables ?? []) {
      expect(t.estimatedRows, t.table).toBeTypeOf('number');
      expect(t.rowsCopied, t.table).toBe(t.estimatedRows);
    }
    const estimated = (flipped.tables ?? []).reduce((n, t) => n + (t.estimatedRows ?? 0), 0);
    expect(estimated).toBeGreaterThan(0);

    const span = `201-${ORG_ID_MAX}`;
    const listed = await ok(['moves', 'list', '--limit', '3']);
    expect(listed.stdout).toMatch(new RegExp(`${created.id}\\s+range ${span}\\s+primary-3\\s+primary-2\\s+flipped`));
    // --org filters org moves: a range move over the org's id is not one of them.
    const ofOrg: Move[] = (await ok(['moves', 'list', '--org', String(stay), '--json'])).json.moves;
    expect(ofOrg.map((m) => m.id)).not.toContain(created.id);
    const shown = await ok(['moves', 'show', created.id]);
    expect(shown.stdout).toContain(
      `range ${span}  primary-3 -> primary-2  flipped  ${estimated.toLocaleString('en-US')} of ${estimated.toLocaleString('en-US')} rows (100.0%)`,
    );
    expect(shown.stdout).toContain(`span ${span}: every org but 5 pinned (left alone where their pins put them)`);
    expect(shown.stdout).toContain('copy: 4 parallel COPY streams, reading from a healthy replica of primary-3');
    expect(shown.stdout).toMatch(/users\s+[\d,]+ of [\d,]+ rows \(100\.0%\)\s+\S+ \S+ {2}verified/);
    expect(shown.stdout).toContain(`orgplane moves rollback ${created.id}\` routes the range back`);

    const back = await ok(['moves', 'rollback', created.id, '--yes', '--reason', 'e2e', '--follow', '--json']);
    expect(back.json).toMatchObject({ id: created.id, kind: 'range', state: 'rolled_back' });
    expect(back.stderr).toBe('');
    expect(await located(stay)).toBe('primary-3');
    expect(await orgRows('primary-3', stay)).toBe(rowsBefore);
  });
});
