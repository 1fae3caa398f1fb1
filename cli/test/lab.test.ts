// One real lab for the whole file: labUp, then everything a user of `orgplane lab`
// relies on, then labDown. Needs the control plane built (`npx tsc -b control-plane`).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@orgplane/embedded';
import { execa, execaSync } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LabPresent, type LabUpResult, labDown, labStatus, labUp, ORG_ID_MAX, orgShape, seedOrgs } from '../src/lab/index.js';

const ORGS = 300;
/** The lab waits until replicas replay everything; a status read right after may still
 * see a background WAL record or two (a running-xacts record), never a seed's megabytes. */
const CAUGHT_UP_BYTES = 64 * 1024;
const ALL_IDS = [
  'control-db',
  'primary-1',
  'primary-2',
  'primary-3',
  'primary-1-replica-1',
  'primary-2-replica-1',
  'primary-3-replica-1',
  'control-plane',
  'prometheus',
  // examples/tenant-api, two instances (REDIS_URL answers in tests and CI).
  'tenant-api-1',
  'tenant-api-2',
];

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');

let root: string;
let dir: string;
let up: LabUpResult;

/** The real `orgplane` binary, without a terminal unless wrapped in `script`; never a developer's ORGPLANE_*. */
async function orgplane(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const res = await execa(process.execPath, [bin, ...args], {
    cwd: opts.cwd ?? root,
    reject: false,
    stdin: 'ignore',
    env: { ORGPLANE_URL: undefined, ORGPLANE_TOKEN: undefined, ORGPLANE_LAB_DIR: undefined, ...opts.env },
  });
  // biome-ignore lint/suspicious/noExplicitAny: a --json document
  const json: any = args.includes('--json') ? JSON.parse(res.stdout) : undefined;
  return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr, json };
}

beforeAll(async () => {
  if (execaSync('prometheus', ['--version'], { reject: false, stdio: 'ignore' }).exitCode !== 0) {
    throw new Error("the lab tests need a real Prometheus on PATH: run .ci/run, which installs Debian's prometheus package");
  }
  root = await mkdtemp('/tmp/orgplane-lab-test-');
  // mkdtemp makes it 0700; the Postgres OS user (when we are root) must get through it.
  await chmod(root, 0o755);
  dir = path.join(root, '.orgplane', 'lab');
  up = await labUp({ dir, orgs: ORGS });
}, 300_000);

afterAll(async () => {
  if (dir) await labDown({ dir, purge: true });
  if (root) await rm(root, { recursive: true, force: true });
}, 120_000);

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function orgCount(status: LabPresent): Promise<number> {
  let total = 0;
  for (const c of status.clusters)
    total += (await query<{ n: number }>(c.primary.url, 'SELECT count(*)::int AS n FROM organizations'))[0]!.n;
  return total;
}

/** md5 over one org's rows in every tenant table. */
async function orgChecksum(url: string, orgId: number): Promise<string> {
  const tables = ['organizations', 'properties', 'users', 'staff', 'guests', 'expenses', 'revenues'];
  const sums = await Promise.all(
    tables.map(
      async (t) =>
        (
          await query<{ sum: string | null }>(
            url,
            `SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) AS sum FROM ${t} x WHERE org_id = $1`,
            [orgId],
          )
        )[0]!.sum,
    ),
  );
  return tables.map((t, i) => `${t}:${sums[i]}`).join(',');
}

function api(path: string, token?: string): Promise<Response> {
  return fetch(`${up.controlPlane.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

/** Alive and not a zombie, checked without the lab's own helpers. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

function postgresUnder(labDir: string): number[] {
  return processesUnder(labDir, 'postgres');
}

function prometheusUnder(labDir: string): number[] {
  return processesUnder(labDir, 'prometheus');
}

function processesUnder(labDir: string, program: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmd.includes(program) && cmd.includes(`${labDir}/`) && alive(Number(e));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** PATH without any directory that holds a `prometheus`, as on a machine without the package. */
function pathWithoutPrometheus(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((d) => d && !existsSync(path.join(d, 'prometheus')))
    .join(path.delimiter);
}

/** An instant query against the lab's Prometheus: its one value, or null without one. */
async function promValue(query: string): Promise<number | null> {
  const res = await fetch(`${up.prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
  const [first] = body.data.result;
  return first ? Number(first.value[1]) : null;
}

async function until<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const slotOf = (replicaId: string) => replicaId.replaceAll('-', '_');

interface SlotRow {
  slot_name: string;
  slot_type: string;
  active: boolean;
}

/** The primary's replication slots, once every one is active (a replica's walreceiver may be reconnecting). */
async function slotsWhenActive(primaryUrl: string): Promise<SlotRow[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await query<SlotRow>(primaryUrl, 'SELECT slot_name, slot_type, active FROM pg_replication_slots ORDER BY slot_name');
    if (rows.every((r) => r.active) || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function expectEveryReplicaOnItsSlot(status: LabPresent): Promise<void> {
  for (const c of status.clusters) {
    expect(await slotsWhenActive(c.primary.url), c.id).toEqual(
      c.replicas.map((r) => ({ slot_name: slotOf(r.id), slot_type: 'physical', active: true })),
    );
  }
}

function pidsOf(s: LabPresent): number[] {
  return [
    s.controlPlane.pid,
    s.prometheus.pid,
    s.controlDb.pid,
    ...s.clusters.flatMap((c) => [c.primary.pid, ...c.replicas.map((r) => r.pid)]),
    ...(s.tenantApi?.instances.map((i) => i.pid) ?? []),
  ].filter((p): p is number => typeof p === 'number');
}

describe('lab up (fresh)', () => {
  it('starts every process and reports how to reach each one', () => {
    expect(up.state).toBe('running');
    expect(up.alreadyRunning).toBe(false);
    expect([...up.started].sort()).toEqual([...ALL_IDS].sort());
    expect(up.orgs).toBe(ORGS);
    expect(up.complete).toBe(true);
    expect(up.clusters.map((c) => [c.id, c.replicas.map((r) => r.id)])).toEqual([
      ['primary-1', ['primary-1-replica-1']],
      ['primary-2', ['primary-2-replica-1']],
      ['primary-3', ['primary-3-replica-1']],
    ]);
    expect(up.controlPlane.token).toMatch(/\S{16,}/);
    expect(pidsOf(up)).toHaveLength(ALL_IDS.length);
    for (const pid of pidsOf(up)) expect(alive(pid)).toBe(true);
    expect(up.prometheus).toMatchObject({ state: 'running', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), hint: null });
    const urls = [up.controlDb.url, ...up.clusters.flatMap((c) => [c.primary.url, ...c.replicas.map((r) => r.url)])];
    expect(new Set(urls).size).toBe(7);
    for (const c of up.clusters) for (const r of c.replicas) expect(r.replayLagBytes).toBeLessThan(CAUGHT_UP_BYTES);
  });

  it('keeps the password and token in files only the owner can read, and saves the CLI context', async () => {
    const statePath = path.join(dir, 'state.json');
    const contextPath = path.join(dir, '..', 'context.json');
    expect(statSync(statePath).mode & 0o777).toBe(0o600);
    expect(statSync(contextPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(contextPath, 'utf8'))).toEqual({ url: up.controlPlane.url, token: up.controlPlane.token });
  });

  it('runs Prometheus with the control plane as a healthy target, scraped with its own least-scope token', async () => {
    interface Target {
      labels: { job: string };
      scrapeUrl: string;
      health: string;
      lastError: string;
    }
    // Prometheus finds its targets a few seconds after it starts; lab up does not wait for that.
    const target = await until('the control plane is a healthy target', 30_000, async () => {
      const body = (await (await fetch(`${up.prometheus.url}/api/v1/targets`)).json()) as { data: { activeTargets: Target[] } };
      const found = body.data.activeTargets.find((t) => t.labels.job === 'control-plane');
      return found?.health === 'up' ? found : undefined;
    });
    expect(target).toMatchObject({ scrapeUrl: `${up.controlPlane.url}/metrics`, lastError: '' });
    expect(await promValue('up{job="control-plane"}')).toBe(1);

    // Its token: in a file only the owner reads, not in the config, not the admin token,
    // and good for /metrics but not for the shard map (scope sdk:read).
    const credentials = path.join(dir, 'prometheus', 'control-plane.token');
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
    const token = (await readFile(credentials, 'utf8')).trim();
    expect(token).toMatch(/^op_/);
    expect(token).not.toBe(up.controlPlane.token);
    const config = await readFile(path.join(dir, 'prometheus', 'prometheus.yml'), 'utf8');
    expect(config).toContain(credentials);
    expect(config).not.toContain(token);
    expect((await api('/metrics', token)).status).toBe(200);
    expect((await api('/v1/shard-map', token)).status).toBe(403);
  });

  it('streams a row written on a primary to its replica', async () => {
    for (const c of up.clusters) {
      const orgId = 900_000 + Number(c.id.split('-')[1]);
      await query(c.primary.url, `INSERT INTO organizations (org_id, name) VALUES ($1, 'streamed')`, [orgId]);
      try {
        const deadline = Date.now() + 30_000;
        let seen = 0;
        while (seen === 0 && Date.now() < deadline) {
          seen = (
            await query<{ n: number }>(c.replicas[0]!.url, 'SELECT count(*)::int AS n FROM organizations WHERE org_id = $1', [orgId])
          )[0]!.n;
          if (seen === 0) await new Promise((r) => setTimeout(r, 100));
        }
        expect(seen, `${c.id} -> its replica`).toBe(1);
      } finally {
        await query(c.primary.url, 'DELETE FROM organizations WHERE org_id = $1', [orgId]);
      }
    }
  });

  it('streams each replica through its own physical replication slot on its primary', async () => {
    await expectEveryReplicaOnItsSlot(up);
  });

  it('seeds each cluster with its contiguous block of orgs', async () => {
    const blocks = await Promise.all(
      up.clusters.map(
        async (c) =>
          (
            await query<{ lo: string; hi: string; n: number }>(
              c.primary.url,
              'SELECT min(org_id) AS lo, max(org_id) AS hi, count(*)::int AS n FROM organizations',
            )
          )[0],
      ),
    );
    expect(blocks).toEqual([
      { lo: '1', hi: '100', n: 100 },
      { lo: '101', hi: '200', n: 100 },
      { lo: '201', hi: '300', n: 100 },
    ]);
  });

  it('seeds deterministically: an org equals the same org seeded again elsewhere', async () => {
    const fresh = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
    let large = 1;
    while (orgShape(large).size !== 'large') large++;
    expect(large).toBeLessThanOrEqual(ORGS);
    for (const orgId of [1, 150, large]) {
      await seedOrgs(fresh, orgId, orgId);
      const cluster = up.clusters[Math.floor((orgId - 1) / 100)]!;
      const sum = await orgChecksum(cluster.primary.url, orgId);
      expect(sum).not.toContain('null');
      expect(sum, `org ${orgId}`).toBe(await orgChecksum(fresh, orgId));
    }
  });

  it('registers the clusters and a shard map matching the seeded blocks with the control plane', async () => {
    const res = await api('/v1/shard-map', up.controlPlane.token!);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ranges: { lo: number; hi: number; clusterId: string }[] };
    expect(body.ranges.map(({ lo, hi, clusterId }) => ({ lo, hi, clusterId }))).toEqual([
      { lo: 0, hi: 100, clusterId: 'primary-1' },
      { lo: 101, hi: 200, clusterId: 'primary-2' },
      { lo: 201, hi: ORG_ID_MAX, clusterId: 'primary-3' },
    ]);
    expect((await api('/v1/shard-map')).status).toBe(401);

    const clusters = (await (await api('/v1/clusters', up.controlPlane.token!)).json()) as {
      clusters: { id: string; replicas: { id: string }[] }[];
    };
    expect(clusters.clusters.map((c) => [c.id, c.replicas.map((r) => r.id)]).sort()).toEqual([
      ['primary-1', ['primary-1-replica-1']],
      ['primary-2', ['primary-2-replica-1']],
      ['primary-3', ['primary-3-replica-1']],
    ]);
  });

  it('writes neither a token nor the lab password to its logs', async () => {
    const password = new URL(up.controlDb.url).password;
    expect(password.length).toBeGreaterThanOrEqual(16);
    const scrapeToken = (await readFile(path.join(dir, 'prometheus', 'control-plane.token'), 'utf8')).trim();
    for (const log of ['control-plane.log', 'lab.log', 'prometheus.log']) {
      const text = await readFile(path.join(dir, log), 'utf8');
      // Prometheus logs only warnings: a healthy one writes nothing.
      if (log !== 'prometheus.log') expect(text.length, log).toBeGreaterThan(0);
      for (const [name, secret] of [
        ['token', up.controlPlane.token!],
        ['scrape token', scrapeToken],
        ['password', password],
      ]) {
        expect(text.includes(secret!), `${name} in ${log}`).toBe(false);
      }
    }
  });
});

describe('lab up (again)', () => {
  it('starts nothing when everything runs', async () => {
    const again = await labUp({ dir, orgs: ORGS, clusters: 3, replicas: 1 });
    expect(again.alreadyRunning).toBe(true);
    expect(again.started).toEqual([]);
    expect(pidsOf(again).sort()).toEqual(pidsOf(up).sort());
    expect(again.controlPlane.token).toBe(up.controlPlane.token);
  });

  it('refuses a different size with LAB_CONFIG_MISMATCH and changes nothing', async () => {
    const before = await readFile(path.join(dir, 'state.json'), 'utf8');
    for (const other of [{ orgs: ORGS + 1 }, { clusters: 2 }, { replicas: 0 }]) {
      await expect(labUp({ dir, ...other })).rejects.toMatchObject({
        name: 'LabError',
        code: 'LAB_CONFIG_MISMATCH',
        hint: expect.stringContaining('lab down --purge'),
      });
    }
    expect(await readFile(path.join(dir, 'state.json'), 'utf8')).toBe(before);
    expect((await labStatus({ dir })).state).toBe('running');
  });

  it('refuses bad sizes with LAB_INVALID_INPUT before creating anything', async () => {
    const bad = [
      { orgs: 0 },
      { orgs: -5 },
      { orgs: 1.5 },
      { orgs: 1_000_001 },
      { clusters: 0 },
      { clusters: 11 },
      { replicas: 9 },
      { replicas: -1 },
    ];
    for (const [i, opts] of bad.entries()) {
      const target = path.join(root, `bad-${i}`, 'lab');
      await expect(labUp({ dir: target, ...opts }), JSON.stringify(opts)).rejects.toMatchObject({ code: 'LAB_INVALID_INPUT' });
      expect(existsSync(path.join(root, `bad-${i}`))).toBe(false);
    }
  });

  it('restarts only what stopped', async () => {
    const replica = up.clusters[1]!.replicas[0]!;
    process.kill(replica.pid!, 'SIGTERM');
    process.kill(up.controlPlane.pid!, 'SIGTERM');
    process.kill(up.prometheus.pid!, 'SIGTERM');
    const stopping = [replica.pid!, up.controlPlane.pid!, up.prometheus.pid!];
    const deadline = Date.now() + 30_000;
    while (stopping.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Else lab up below finds them still running and rightly restarts nothing.
    expect(stopping.filter(alive), 'still running 30 s after SIGTERM').toEqual([]);
    const partial = await labStatus({ dir });
    expect(partial.state).toBe('partial');
    expect(partial.state !== 'absent' && partial.prometheus).toMatchObject({ state: 'stopped', pid: null, url: up.prometheus.url });

    const again = await labUp({ dir });
    expect(again.alreadyRunning).toBe(false);
    expect(again.started).toEqual(['primary-2-replica-1', 'control-plane', 'prometheus']);
    expect(again.prometheus).toMatchObject({ state: 'running', url: up.prometheus.url });
    expect(again.state).toBe('running');
    expect(again.clusters[0]!.primary.pid).toBe(up.clusters[0]!.primary.pid);
    expect((await api('/v1/shard-map', again.controlPlane.token!)).status).toBe(200);
    up = again;
  });

  it('keeps the WAL a stopped replica still needs (its slot), so it catches up however far behind it fell', async () => {
    const cluster = up.clusters[0]!;
    const replica = cluster.replicas[0]!;
    const primary = cluster.primary.url;
    // Without the slot, nothing else would keep the WAL: the replica could never catch up.
    await query(primary, 'ALTER SYSTEM SET wal_keep_size = 0');
    await query(primary, 'SELECT pg_reload_conf()');
    try {
      process.kill(replica.pid!, 'SIGTERM');
      const deadline = Date.now() + 30_000;
      while (alive(replica.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 4; i++) {
        await query(primary, `INSERT INTO organizations (org_id, name) VALUES ($1, 'behind')`, [800_000 + i]);
        await query(primary, 'SELECT pg_switch_wal()');
      }
      await query(primary, 'CHECKPOINT');
      const [slot] = await query<{ active: boolean; kept: number }>(
        primary,
        `SELECT active, (SELECT count(*)::int FROM pg_ls_waldir() WHERE name = pg_walfile_name(restart_lsn)) AS kept
         FROM pg_replication_slots WHERE slot_name = $1`,
        [slotOf(replica.id)],
      );
      expect(slot).toEqual({ active: false, kept: 1 });

      const again = await labUp({ dir });
      expect(again.started).toEqual([replica.id]);
      expect(again.clusters[0]!.replicas[0]!.replayLagBytes).toBeLessThan(CAUGHT_UP_BYTES);
      const seen = await query<{ n: number }>(
        again.clusters[0]!.replicas[0]!.url,
        'SELECT count(*)::int AS n FROM organizations WHERE org_id >= 800000',
      );
      expect(seen[0]!.n).toBe(4);
      await expectEveryReplicaOnItsSlot(again);
      up = again;
    } finally {
      await query(primary, 'DELETE FROM organizations WHERE org_id >= 800000');
      await query(primary, 'ALTER SYSTEM RESET wal_keep_size');
      await query(primary, 'SELECT pg_reload_conf()');
    }
  });
});

describe('SLO-gated rollouts in the lab', () => {
  const CHECK_QUERY = 'sum(rate(orgplane_http_errors_total{code="UNAUTHORIZED"}[10s]))';
  const CHECK = `unauthorized:${CHECK_QUERY}<0.5`;

  interface GatedRollout {
    status: string;
    stageIndex: number;
    updatedAt: string;
    analyses: { stageIndex: number; check: string; value: number | null; threshold: number; op: string; outcome: string; at: string }[];
  }

  const rollout = async (flag: string): Promise<GatedRollout> =>
    (await (await api(`/v1/rollouts/${flag}`, up.controlPlane.token!)).json()) as GatedRollout;

  const create = (flag: string, onFailure: 'pause' | 'rollback', check = CHECK) =>
    orgplane([
      'rollouts',
      'create',
      flag,
      '--stages',
      '0,50,100',
      '--check',
      check,
      '--interval',
      '1s',
      '--failure-limit',
      '3',
      '--mode',
      'automatic',
      // Long enough that the gate never advances a passing stage during the test.
      '--min-dwell',
      '1h',
      '--on-failure',
      onFailure,
      '--json',
    ]);

  it('refuses a check the lab Prometheus rejects with INVALID_PROMQL (exit 2), and creates nothing', async () => {
    // Balanced brackets pass the control plane's own shape check: only Prometheus knows
    // that rate() wants a range vector.
    const res = await create('gated-bad', 'pause', 'bad:rate(orgplane_http_errors_total)<1');
    expect(res.exitCode).toBe(2);
    expect(res.json.error.code).toBe('INVALID_PROMQL');
    expect((await api('/v1/rollouts/gated-bad', up.controlPlane.token!)).status).toBe(404);
  });

  // Its named waits add up to 300 s: the timeout outlasts them, so a stuck one says which.
  it('pauses, or rolls back, a stage whose error rate jumps, and records every analysis', { timeout: 330_000 }, async () => {
    // One refused request, so the series exists; then wait until the check would pass
    // (earlier tests made a few 401s of their own).
    await api('/v1/shard-map');
    await until('the check query has a passing value', 60_000, async () => {
      const value = await promValue(CHECK_QUERY);
      return value !== null && value < 0.5 ? value : undefined;
    });

    // Both rollouts at once: one pauses on failure, the other rolls back.
    await Promise.all(
      (
        [
          ['gated-pause', 'pause'],
          ['gated-rollback', 'rollback'],
        ] as const
      ).map(async ([flag, onFailure]) => {
        const created = await create(flag, onFailure);
        expect(created.exitCode, created.stdout).toBe(0);
        expect(created.json.stages[0].checks).toEqual([{ name: 'unauthorized', query: CHECK_QUERY, op: '<', threshold: 0.5 }]);
        const advanced = await orgplane(['rollouts', 'advance', flag, '--json']);
        expect(advanced.exitCode, advanced.stdout).toBe(0);
        expect(advanced.json).toMatchObject({ status: 'running', stageIndex: 0 });
      }),
    );
    // The gates evaluate the stage, and it passes.
    for (const flag of ['gated-pause', 'gated-rollback']) {
      await until(`${flag} has a passing analysis`, 30_000, async () => (await rollout(flag)).analyses.find((a) => a.outcome === 'pass'));
      expect(await rollout(flag)).toMatchObject({ status: 'running', stageIndex: 0 });
    }

    // The service fails: a flood of unauthorized requests.
    let flooding = true;
    const flood = (async () => {
      while (flooding) {
        await Promise.all(Array.from({ length: 4 }, () => api('/v1/shard-map').then((r) => r.body?.cancel())));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const failureStart = Date.now();
    let paused: GatedRollout;
    let rolledBack: GatedRollout;
    try {
      paused = await until('the gate pauses gated-pause', 90_000, async () => {
        const r = await rollout('gated-pause');
        return r.status === 'running' ? undefined : r;
      });
      rolledBack = await until('the gate rolls back gated-rollback', 90_000, async () => {
        const r = await rollout('gated-rollback');
        return r.status === 'running' ? undefined : r;
      });
    } finally {
      flooding = false;
      await flood;
    }
    expect(paused).toMatchObject({ status: 'paused', stageIndex: 0 });
    expect(rolledBack).toMatchObject({ status: 'rolled_back', stageIndex: -1 });
    for (const [flag, r] of [
      ['pause', paused],
      ['rollback', rolledBack],
    ] as const) {
      console.log(JSON.stringify({ figure: `lab SLO gate: failure start to ${flag}`, ms: Date.parse(r.updatedAt) - failureStart }));
    }

    // `rollouts show --json` has the analyses (newest first): the trip, and the passes before it.
    for (const flag of ['gated-pause', 'gated-rollback']) {
      const shown = await orgplane(['rollouts', 'show', flag, '--json']);
      expect(shown.exitCode, shown.stdout).toBe(0);
      const analyses = shown.json.analyses as GatedRollout['analyses'];
      const trip = analyses.slice(0, 3);
      for (const a of trip) {
        expect(a).toMatchObject({ stageIndex: 0, check: 'unauthorized', op: '<', threshold: 0.5, outcome: 'fail' });
        expect(a.value).toBeGreaterThanOrEqual(0.5);
      }
      const pass = analyses.find((a) => a.outcome === 'pass');
      expect(pass?.value).toBeLessThan(0.5);
    }
    const audit = await orgplane(['audit', 'list', '--action', 'rollout.gate', '--limit', '5', '--json']);
    expect(audit.exitCode, audit.stdout).toBe(0);
    expect(JSON.stringify(audit.json)).toContain('gated-pause');
    expect(JSON.stringify(audit.json)).toContain('gated-rollback');
  });
});

describe('the orgplane binary with the lab', () => {
  it('lab up prints nothing on stderr without a terminal, and nothing but JSON with --json', async () => {
    const human = await orgplane(['lab', 'up', '--dir', dir]);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stderr).toBe('');
    expect(human.stdout).toContain('The lab is already running.');
    const json = await orgplane(['lab', 'up', '--dir', dir, '--json']);
    expect(json.stderr).toBe('');
    expect(json.json).toMatchObject({ state: 'running', alreadyRunning: true, started: [] });
  });

  it.skipIf(!hasScript())('lab up on a terminal shows its steps as a task list', async () => {
    const res = await execa('script', ['-qec', `${process.execPath} ${bin} lab up --dir ${dir}`, '/dev/null'], {
      cwd: root,
      reject: false,
      stdin: 'ignore',
      env: { ORGPLANE_URL: undefined, ORGPLANE_TOKEN: undefined, ORGPLANE_LAB_DIR: undefined },
    });
    expect(res.exitCode, res.stdout).toBe(0);
    for (const step of [
      'Start the control DB and 3 primaries',
      'Start 3 replicas',
      'Start the control plane',
      'Start Prometheus',
      'Wait for the replicas to catch up',
    ]) {
      expect(res.stdout).toContain(step);
    }
    expect(res.stdout).toContain('already running');
    expect(res.stdout).toContain('The lab is already running.');
  });

  it('lab status and the other commands find a lab in ORGPLANE_LAB_DIR from any directory', async () => {
    const elsewhere = await mkdtemp('/tmp/orgplane-lab-elsewhere-');
    try {
      const env = { ORGPLANE_LAB_DIR: dir };
      const status = await orgplane(['lab', 'status', '--json'], { cwd: elsewhere, env });
      expect(status.exitCode, status.stdout).toBe(0);
      expect(status.json).toMatchObject({ state: 'running', dir });
      const shards = await orgplane(['shards', 'list', '--json'], { cwd: elsewhere, env });
      expect(shards.exitCode, shards.stdout).toBe(0);
      expect(shards.json.ranges.map((r: { clusterId: string }) => r.clusterId)).toEqual(['primary-1', 'primary-2', 'primary-3']);
      // From there, without ORGPLANE_LAB_DIR, there is no lab to be found.
      expect((await orgplane(['shards', 'list', '--json'], { cwd: elsewhere })).json.error.code).toBe('NO_CONTEXT');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('lab down, then up', () => {
  it('stops every process and leaves no Postgres of the lab running', async () => {
    const before = await labStatus({ dir });
    if (before.state === 'absent') throw new Error('lab vanished');
    const pids = pidsOf(before);
    expect(pids).toHaveLength(ALL_IDS.length);

    const down = await labDown({ dir });
    expect([...down.stopped].sort()).toEqual([...ALL_IDS].sort());
    expect(down.stopped.indexOf('primary-1-replica-1')).toBeLessThan(down.stopped.indexOf('primary-1'));
    expect(down.stopped.indexOf('primary-1')).toBeLessThan(down.stopped.indexOf('control-db'));
    // The tenant API first (it follows the control plane and reads the clusters), then Prometheus.
    expect(down.stopped.slice(0, 3)).toEqual(['tenant-api-1', 'tenant-api-2', 'prometheus']);
    expect(down.purged).toBe(false);
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(postgresUnder(dir)).toEqual([]);
    expect(prometheusUnder(dir)).toEqual([]);
    expect((await labStatus({ dir })).state).toBe('stopped');
    expect(await labDown({ dir })).toEqual({ stopped: [], purged: false });
  });

  it('restarts the same lab with its data, without seeding again, even where Prometheus is not installed', async () => {
    const saved = process.env.PATH;
    process.env.PATH = pathWithoutPrometheus();
    let again: LabUpResult;
    try {
      again = await labUp({ dir });
    } finally {
      process.env.PATH = saved;
    }
    expect(again.alreadyRunning).toBe(false);
    expect([...again.started].sort()).toEqual(ALL_IDS.filter((id) => id !== 'prometheus').sort());
    // Prometheus is optional: its absence does not make the lab partial.
    expect(again.state).toBe('running');
    expect(again.prometheus).toMatchObject({ state: 'absent', url: null, pid: null, hint: expect.stringContaining('SLO gates are off') });
    expect(again.prometheus.hint).toContain('apt-get install prometheus');
    expect(again.controlPlane.token).toBe(up.controlPlane.token);
    expect(again.clusters.map((c) => c.primary.url)).toEqual(up.clusters.map((c) => c.primary.url));
    expect(await orgCount(again)).toBe(ORGS);
    expect((await api('/v1/shard-map', again.controlPlane.token!)).status).toBe(200);
    for (const c of again.clusters) for (const r of c.replicas) expect(r.replayLagBytes).toBeLessThan(CAUGHT_UP_BYTES);
    await expectEveryReplicaOnItsSlot(again);
  });

  it('says once, without Prometheus, that SLO gates are off and how to install it', async () => {
    const env = { PATH: pathWithoutPrometheus() };
    const human = await orgplane(['lab', 'up', '--dir', dir], { env });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toContain('The lab is already running.');
    expect(human.stdout.split('SLO gates are off').length - 1).toBe(1);
    expect(human.stdout).toContain('apt-get install prometheus');
    const status = await orgplane(['lab', 'status', '--dir', dir, '--json'], { env });
    expect(status.json).toMatchObject({ state: 'running', prometheus: { state: 'absent', url: null } });
  });

  it('starts only Prometheus once it is installed; one that fails to start is named, and nothing else stops', async () => {
    const fakeBin = path.join(root, 'fake-bin');
    await mkdir(fakeBin, { recursive: true });
    await writeFile(path.join(fakeBin, 'prometheus'), '#!/bin/sh\necho "fake prometheus: refusing to start" >&2\nexit 1\n', {
      mode: 0o755,
    });
    const before = await labStatus({ dir });
    const saved = process.env.PATH;
    process.env.PATH = `${fakeBin}${path.delimiter}${saved}`;
    try {
      await expect(labUp({ dir })).rejects.toMatchObject({
        code: 'LAB_UP_FAILED',
        message: 'Prometheus exited while starting',
        hint: expect.stringContaining(path.join(dir, 'prometheus.log')),
      });
    } finally {
      process.env.PATH = saved;
    }
    expect(await readFile(path.join(dir, 'prometheus.log'), 'utf8')).toContain('fake prometheus: refusing to start');
    const after = await labStatus({ dir });
    expect(after).toMatchObject({ state: 'partial', prometheus: { state: 'stopped' } });
    if (before.state === 'absent' || after.state === 'absent') throw new Error('lab vanished');
    expect(pidsOf(after).sort()).toEqual(pidsOf(before).sort());

    const again = await labUp({ dir });
    expect(again.started).toEqual(['prometheus']);
    expect(again).toMatchObject({ state: 'running', prometheus: { state: 'running' } });
  });

  it('purges the lab directory and its CLI context', async () => {
    const status = await labStatus({ dir });
    const down = await labDown({ dir, purge: true });
    expect(down.purged).toBe(true);
    expect(down.stopped).toHaveLength(ALL_IDS.length);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(path.join(dir, '..', 'context.json'))).toBe(false);
    if (status.state !== 'absent') for (const pid of pidsOf(status)) expect(alive(pid)).toBe(false);
    expect(await labStatus({ dir })).toEqual({ state: 'absent', dir, orgs: null });
  });

  it('orgplane lab status without a lab fails with LAB_NOT_FOUND (exit 4); lab down has nothing to do', async () => {
    const json = await orgplane(['lab', 'status', '--json'], { env: { ORGPLANE_LAB_DIR: dir } });
    expect(json.exitCode).toBe(4);
    expect(json.json.error).toMatchObject({ code: 'LAB_NOT_FOUND', message: `no lab in ${dir}`, hint: 'run `orgplane lab up`' });
    const human = await orgplane(['lab', 'status', '--dir', dir]);
    expect(human.exitCode).toBe(4);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain('Error [LAB_NOT_FOUND]');
    expect(human.stderr).toContain('Try: run `orgplane lab up`');
    const down = await orgplane(['lab', 'down', '--dir', dir, '--json']);
    expect(down.exitCode).toBe(0);
    expect(down.json).toEqual({ stopped: [], purged: false });
  });
});

describe('lab up that fails half-way', () => {
  it('stops what it started, names its log, and leaves a lab that must be purged', async () => {
    const broken = path.join(root, 'broken', 'lab');
    const saved = process.env.NODE_OPTIONS;
    // The control plane cannot start: every Postgres server is already running by then.
    process.env.NODE_OPTIONS = `--require ${path.join(root, 'does-not-exist.cjs')}`;
    try {
      await expect(labUp({ dir: broken, orgs: 5, clusters: 1, replicas: 1 })).rejects.toMatchObject({
        code: 'LAB_UP_FAILED',
        hint: expect.stringContaining(path.join(broken, 'lab.log')),
      });
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
    // It got as far as the control plane, so it had Postgres servers to stop.
    const log = await readFile(path.join(broken, 'lab.log'), 'utf8');
    expect(log).toContain('Start the control DB and the primary');
    expect(log).toContain('failed: the control plane exited while starting');
    expect(postgresUnder(broken)).toEqual([]);
    const status = await labStatus({ dir: broken });
    expect(status).toMatchObject({ state: 'stopped', complete: false });
    await expect(labUp({ dir: broken })).rejects.toMatchObject({ code: 'LAB_INCOMPLETE' });
    expect(await labDown({ dir: broken, purge: true })).toEqual({ stopped: [], purged: true });
    expect(existsSync(broken)).toBe(false);
  });
});

describe('lab up interrupted', () => {
  it('stops every server it started when Ctrl-C (SIGINT) arrives half-way', { timeout: 180_000 }, async () => {
    const cwd = path.join(root, 'interrupted');
    const labDir = path.join(cwd, '.orgplane', 'lab');
    await mkdir(cwd, { recursive: true });
    const child = execa(process.execPath, [bin, 'lab', 'up', '--orgs', '2000', '--clusters', '2', '--replicas', '1'], {
      cwd,
      reject: false,
      stdin: 'ignore',
      env: { ORGPLANE_URL: undefined, ORGPLANE_TOKEN: undefined, ORGPLANE_LAB_DIR: undefined },
    });
    // Interrupt once Postgres servers run: the seed step has begun.
    const logFile = path.join(labDir, 'lab.log');
    const deadline = Date.now() + 120_000;
    while (!(existsSync(logFile) && readFileSync(logFile, 'utf8').includes('Seed'))) {
      if (Date.now() > deadline) throw new Error('lab up never reached the seed step');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(postgresUnder(labDir).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const res = await child;
    expect(res.exitCode).toBe(130);
    expect(readFileSync(logFile, 'utf8')).toContain('interrupted by SIGINT');
    expect(postgresUnder(labDir)).toEqual([]);
    // Half-made: the next lab up says so, and a purge clears it.
    expect((await orgplane(['lab', 'up', '--json'], { cwd })).json.error.code).toBe('LAB_INCOMPLETE');
    expect((await orgplane(['lab', 'down', '--purge', '--yes', '--json'], { cwd })).exitCode).toBe(0);
    expect(existsSync(labDir)).toBe(false);
  });
});

function hasScript(): boolean {
  return execaSync('script', ['--version'], { reject: false, stdio: 'ignore' }).exitCode === 0;
}
