// shards move --range and shards rebalance: the real `orgplane` binary against a real
// control plane (its executor off, so started moves stay pending) over two real tenant
// databases. Bad input is refused before any request, the dry run prints the plan, and
// the control plane's range-move errors come out with their exit codes and CLI hints.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ControlPlane, createApiToken } from '@orgplane/control-plane';
import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ExitCode } from '../src/errors.js';
import { cliHarness, rowsOf, startControlPlane } from './cliHarness.js';

const ORG_ID_MAX = Number.MAX_SAFE_INTEGER;
/** Nothing listens here: a command that sent a request would fail CONTROL_PLANE_UNREACHABLE. */
const NOWHERE = 'http://127.0.0.1:9';

let cp: ControlPlane;
let url: string;
let controlDb: string;
let admin: string;
let dir: string;

const { cli, ok, fails, refused, api } = cliHarness(() => ({ dir, url, token: admin }), snapshot);

function snapshot(): Promise<unknown> {
  return rowsOf(controlDb, {
    version: 'SELECT version::int FROM config_version',
    ranges: 'SELECT lo, hi, cluster_id FROM shard_ranges ORDER BY lo',
    moves: 'SELECT id, state FROM moves ORDER BY id',
    placements: 'SELECT org_id, cluster_id FROM placements ORDER BY org_id',
    audit: 'SELECT count(*)::int AS n FROM audit_log',
  });
}

async function seed(tenantUrl: string, orgIds: number[]): Promise<void> {
  const client = new pg.Client({ connectionString: tenantUrl });
  await client.connect();
  try {
    await client.query("INSERT INTO organizations (org_id, name) SELECT id, 'org ' || id FROM unnest($1::bigint[]) AS id", [orgIds]);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  controlDb = await createTestDatabase(inject('pgAdminUrl'), 'control-plane');
  admin = (await createApiToken(controlDb, { name: 'cli-admin', scope: 'admin' })).token;
  ({ cp, url } = await startControlPlane(controlDb));
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-shards-move-cli-'));
  await chmod(dir, 0o755);
  const tenants: Record<string, string> = {};
  for (const id of ['tenant-a', 'tenant-b', 'tenant-c']) {
    tenants[id] = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    expect((await api('POST', '/v1/clusters', { id, primary: { url: tenants[id] } })).status).toBe(201);
  }
  const map = await api('PUT', '/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999, clusterId: 'tenant-a' },
      { lo: 1000, hi: 1999, clusterId: 'tenant-b' },
      { lo: 2000, hi: ORG_ID_MAX, clusterId: 'tenant-a' },
    ],
  });
  expect(map.status).toBe(200);
  // tenant-a: 10 orgs in each of its ranges; tenant-c serves nothing.
  await seed(tenants['tenant-a']!, [...Array.from({ length: 10 }, (_, i) => i + 1), ...Array.from({ length: 10 }, (_, i) => 2001 + i)]);
}, 120_000);

afterAll(async () => {
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('bad input is refused before any request', () => {
  it.each([
    ['lo above hi', '999-0'],
    ['garbage', 'lots'],
    ['a word for hi', '0-end'],
    ['a negative lo', '-5-7'],
    ['a fraction', '1.5-7'],
  ])('shards move --range: %s', async (_name, range) => {
    // Pointed nowhere: had it sent a request, it would fail CONTROL_PLANE_UNREACHABLE.
    const error = await fails(['shards', 'move', '--range', range, '--to', 'tenant-b'], 'INVALID_RANGE', ExitCode.usage, { url: NOWHERE });
    expect(error.message).toContain(range);
    expect(error.hint).toMatch(/<lo>-<hi>|lower org id first/);
    await refused(['shards', 'move', '--range', range, '--to', 'tenant-b'], 'INVALID_RANGE', ExitCode.usage);
  });

  it('shards move needs --range and --to', async () => {
    await fails(['shards', 'move', '--to', 'tenant-b'], 'INVALID_ARGUMENTS', ExitCode.usage, { url: NOWHERE });
    await fails(['shards', 'move', '--range', '0-999'], 'INVALID_ARGUMENTS', ExitCode.usage, { url: NOWHERE });
  });

  it.each(['0', '100', '150', '-5', 'ten', '10%%'])('shards rebalance --percent %s', async (percent) => {
    const args = ['shards', 'rebalance', '--from', 'tenant-a', '--to', 'tenant-b', `--percent=${percent}`, '--dry-run'];
    const error = await fails(args, 'INVALID_INPUT', ExitCode.usage, { url: NOWHERE });
    expect(error.message).toContain('greater than 0 and less than 100');
  });

  it('shards rebalance --by must be orgs or rows, --read-from replica or primary', async () => {
    const base = ['shards', 'rebalance', '--from', 'tenant-a', '--to', 'tenant-b', '--percent', '10'];
    await fails([...base, '--by', 'bytes'], 'INVALID_ARGUMENTS', ExitCode.usage, { url: NOWHERE });
    await fails([...base, '--read-from', 'standby'], 'INVALID_ARGUMENTS', ExitCode.usage, { url: NOWHERE });
    await fails([...base, '--copy-streams', '17'], 'INVALID_ARGUMENTS', ExitCode.usage, { url: NOWHERE });
  });
});

describe('shards rebalance --dry-run', () => {
  it('prints the plan as a table, and changes nothing', async () => {
    const before = await snapshot();
    const res = await cli(['shards', 'rebalance', '--from', 'tenant-a', '--to', 'tenant-b', '--percent', '25', '--dry-run']);
    expect(res.exitCode, res.stderr).toBe(0);
    // 25 % of 20 orgs: the top 5 of the highest range, split at 2006.
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(/^RANGE\s+SPLITAT\s+MOVES\s+ORGS\s+ROWS$/);
    expect(lines[1]).toMatch(new RegExp(`^2000-${ORG_ID_MAX}\\s+2006\\s+2006-${ORG_ID_MAX}\\s+5\\s+5$`));
    expect(res.stdout).toContain('tenant-a -> tenant-b, 25 % by orgs: 5 of 20 orgs, 5 of 20 rows');
    expect(res.stdout).toMatch(/estimated copy time [\d.]+ s at 100,000 rows\/s \(default: no range move measured yet\)/);
    expect(res.stdout).toContain('Dry run: nothing changed');
    expect(await snapshot()).toEqual(before);
  });

  it('--json prints the API document', async () => {
    const before = await snapshot();
    const doc = await ok(['shards', 'rebalance', '--from', 'tenant-a', '--to', 'tenant-b', '--percent', '60', '--dry-run']);
    expect(Object.keys(doc)).toEqual(['plan']);
    expect(doc.plan).toMatchObject({ from: 'tenant-a', to: 'tenant-b', by: 'orgs', percent: 60, sourceOrgs: 20, orgs: 12 });
    expect(doc.plan.ranges).toEqual([
      { lo: 0, hi: 999, splitAt: 9, orgs: 2, rows: 2 },
      { lo: 2000, hi: ORG_ID_MAX, splitAt: null, orgs: 10, rows: 10 },
    ]);
    expect(await snapshot()).toEqual(before);
  });
});

describe("the control plane's range-move errors: exit codes and hints", () => {
  it('a range that does not start a shard-map range: RANGE_NOT_ALIGNED, usage, names the split', async () => {
    const error = await refused(['shards', 'move', '--range', '5-999', '--to', 'tenant-b'], 'RANGE_NOT_ALIGNED', ExitCode.usage);
    expect(error.hint).toContain('orgplane shards split --at 5');
    const end = await refused(['shards', 'move', '--range', '0-500', '--to', 'tenant-b'], 'RANGE_NOT_ALIGNED', ExitCode.usage);
    expect(end.hint).toContain('orgplane shards split --at 501');
  });

  it('a range over two clusters: RANGE_SPANS_CLUSTERS, usage', async () => {
    await refused(['shards', 'move', '--range', '0-1999', '--to', 'tenant-c'], 'RANGE_SPANS_CLUSTERS', ExitCode.usage);
  });

  it('the source as destination: ALREADY_ON_CLUSTER, conflict; an unknown cluster: not found', async () => {
    await refused(['shards', 'move', '--range', '0-999', '--to', 'tenant-a'], 'ALREADY_ON_CLUSTER', ExitCode.conflict);
    await refused(
      ['shards', 'rebalance', '--from', 'tenant-a', '--to', 'tenant-a', '--percent', '10'],
      'ALREADY_ON_CLUSTER',
      ExitCode.conflict,
    );
    await refused(
      ['shards', 'rebalance', '--from', 'tenant-z', '--to', 'tenant-a', '--percent', '10'],
      'CLUSTER_NOT_FOUND',
      ExitCode.notFound,
    );
  });

  it('a cluster with no orgs: CLUSTER_HAS_NO_ORGS, usage, with a hint', async () => {
    const error = await refused(
      ['shards', 'rebalance', '--from', 'tenant-c', '--to', 'tenant-b', '--percent', '10'],
      'CLUSTER_HAS_NO_ORGS',
      ExitCode.usage,
    );
    expect(error.hint).toContain('orgplane shards list');
  });

  it('starts a rebalance, then refuses what touches its range: RANGE_ALREADY_MOVING and RANGE_MOVING, conflict', async () => {
    const started = await ok(['shards', 'rebalance', '--from', 'tenant-a', '--to', 'tenant-b', '--percent', '25', '--copy-streams', '2']);
    expect(started).toMatchObject({ followed: false, outcome: 'started', plan: { orgs: 5 } });
    expect(started.moves).toHaveLength(1);
    const move = started.moves[0];
    expect(move).toMatchObject({ kind: 'range', range: { lo: 2006, hi: ORG_ID_MAX }, copyStreams: 2, state: 'pending' });

    const again = await refused(
      ['shards', 'move', '--range', `2006-${ORG_ID_MAX}`, '--to', 'tenant-c'],
      'RANGE_ALREADY_MOVING',
      ExitCode.conflict,
    );
    expect(again.hint).toContain(`orgplane moves show ${move.id}`);
    const pin = await refused(['orgs', 'pin', '2008'], 'RANGE_MOVING', ExitCode.conflict);
    expect(pin.hint).toContain(`orgplane moves show ${move.id}`);
    await refused(['shards', 'split', '--at', '5000'], 'RANGE_MOVING', ExitCode.conflict);
  });

  it('shards move --range starts one range move and prints it', async () => {
    const res = await cli(['shards', 'move', '--range', '0-999', '--to', 'tenant-b', '--read-from', 'primary', '--reason', 'cli']);
    expect(res.exitCode, res.stderr).toBe(0);
    const moves = (await api('GET', '/v1/moves?limit=1')).body.moves as { id: string; range: unknown; readFrom: string }[];
    expect(moves[0]).toMatchObject({ range: { lo: 0, hi: 999 }, readFrom: 'primary' });
    expect(res.stdout).toContain(`Range move ${moves[0]!.id} started`);
  });
});
