// The platform engineer's day-one commands end to end: the real `orgplane` binary against a
// real control plane (buildApp on a fresh control DB; a second instance on the same DB for
// revocation) whose two clusters are real tenant databases. tokens create / list / revoke,
// shards merge, orgs pins / pin / unpin: what they print, and that bad input is refused by
// name with its exit code and changes nothing. The move executor is off, so a move made
// here stays unfinished (the state that must block an unpin).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, type ControlPlane, createApiToken, createLogger, loadConfig } from '@orgplane/control-plane';
import { createTestDatabase } from '@orgplane/embedded';
import { ORG_ID_MAX } from '@orgplane/runtime/wire';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedOrgs } from '../src/lab/seed.js';
import { cliHarness, rowsOf } from './cliHarness.js';

let cp: ControlPlane;
let other: ControlPlane;
let url: string;
let otherUrl: string;
let controlDb: string;
let admin: string;
let dir: string;

const { cli, ok, api, refused } = cliHarness(() => ({ dir, url, token: admin }), snapshot);

/** Everything a refused command must leave as it was. */
function snapshot(): Promise<unknown> {
  return rowsOf(controlDb, {
    version: 'SELECT version::int FROM config_version',
    audit: 'SELECT count(*)::int AS n FROM audit_log',
    tokens: 'SELECT id, name, scope, revoked_at FROM api_tokens ORDER BY id',
    ranges: 'SELECT lo::text, hi::text, cluster_id FROM shard_ranges ORDER BY lo',
    placements: 'SELECT org_id::int, cluster_id, state, epoch::int FROM placements ORDER BY org_id',
    moves: 'SELECT count(*)::int AS n FROM moves',
  });
}

async function version(): Promise<number> {
  return (await ok(['shards', 'list'])).version;
}

beforeAll(async () => {
  const adminUrl = inject('pgAdminUrl');
  controlDb = await createTestDatabase(adminUrl, 'control-plane');
  const tenants = [await createTestDatabase(adminUrl, 'tenant'), await createTestDatabase(adminUrl, 'tenant')];
  await seedOrgs(tenants[0]!, 1, 50);
  await seedOrgs(tenants[1]!, 2000, 2050);
  admin = (await createApiToken(controlDb, { name: 'cli-admin', scope: 'admin' })).token;
  const config = loadConfig({ ORGPLANE_DATABASE_URL: controlDb, ORGPLANE_LOG_LEVEL: 'warn', ORGPLANE_MOVE_EXECUTOR: 'off' });
  cp = await buildApp(config, { logger: createLogger(config) });
  url = await cp.app.listen({ host: '127.0.0.1', port: 0 });
  // A second instance on the same control DB, as behind a load balancer.
  other = await buildApp(config, { logger: createLogger(config) });
  otherUrl = await other.app.listen({ host: '127.0.0.1', port: 0 });
  for (const [i, tenant] of tenants.entries()) {
    expect((await api('POST', '/v1/clusters', { id: `primary-${i + 1}`, primary: { url: tenant } })).status).toBe(201);
  }
  const ranges = await api('PUT', '/v1/shard-map/ranges', {
    ranges: [
      { lo: 0, hi: 999, clusterId: 'primary-1' },
      { lo: 1000, hi: 1999, clusterId: 'primary-1' },
      { lo: 2000, hi: 2999, clusterId: 'primary-2' },
      { lo: 3000, hi: ORG_ID_MAX, clusterId: 'primary-1' },
    ],
  });
  expect(ranges.status).toBe(200);
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-platform-e2e-'));
  await chmod(dir, 0o755);
}, 120_000);

afterAll(async () => {
  await other?.close();
  await cp?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('orgplane tokens', { timeout: 120_000 }, () => {
  let secret: string;
  let id: string;

  it('create prints the token once, for people and in --json; list and audit never show it', async () => {
    const human = await cli(['tokens', 'create', '--name', 'ci-deploy', '--scope', 'operator', '--reason', 'pipeline']);
    expect(human.exitCode, human.stderr).toBe(0);
    const printed = /op_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(human.stdout)?.[0];
    expect(printed, human.stdout).toBeDefined();
    expect(human.stdout).toContain('only time the token is shown');
    expect(human.stderr).not.toContain(printed!);

    const doc = await ok(['tokens', 'create', '--name', 'ci-deploy-2', '--scope', 'operator']);
    expect(doc).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/), name: 'ci-deploy-2', scope: 'operator', token: expect.any(String) });
    expect(doc.token.startsWith(`op_${doc.id}_`)).toBe(true);
    secret = doc.token;
    id = doc.id;

    const list = await cli(['tokens', 'list', '--json']);
    expect(list.json.tokens).toContainEqual({ id, name: 'ci-deploy-2', scope: 'operator', createdAt: expect.any(String), revokedAt: null });
    const listHuman = await cli(['tokens', 'list']);
    expect(listHuman.stdout).toMatch(/ID\s+NAME\s+SCOPE\s+CREATEDAT\s+REVOKEDAT/);
    expect(listHuman.stdout).toContain('ci-deploy-2');
    const audit = await cli(['audit', 'list', '--limit', '100', '--json']);
    for (const text of [list.stdout, listHuman.stdout, audit.stdout]) {
      expect(text).not.toContain(secret.slice(`op_${id}_`.length));
      expect(text).not.toContain(printed!.slice(20));
    }
    expect(audit.json.entries.some((e: { action: string; reason: string }) => e.action === 'token.create' && e.reason === 'pipeline')).toBe(
      true,
    );
    // The new token works, with its scope: an operator may read the map, not hand out tokens.
    expect((await cli(['shards', 'list', '--json'], { token: secret })).exitCode).toBe(0);
    const before = await snapshot();
    const forbidden = await cli(['tokens', 'create', '--name', 'sneaky', '--scope', 'admin', '--json'], { token: secret });
    expect(forbidden.json.error.code).toBe('FORBIDDEN');
    expect(forbidden.exitCode).toBe(3);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an unknown scope, an empty name and a bad or unknown id by name, changing nothing', async () => {
    const scope = await refused(['tokens', 'create', '--name', 'x', '--scope', 'root'], 'INVALID_SCOPE', 2);
    expect(scope.hint).toContain('admin, operator, rollout, sdk:read');
    await refused(['tokens', 'create', '--name', '', '--scope', 'operator'], 'INVALID_TOKEN_NAME', 2);
    await refused(['tokens', 'create', '--name', '   ', '--scope', 'operator'], 'INVALID_TOKEN_NAME', 2);
    await refused(['tokens', 'create', '--scope', 'operator'], 'INVALID_ARGUMENTS', 2);
    const unknown = await refused(['tokens', 'revoke', '0123456789abcdef', '--yes'], 'TOKEN_NOT_FOUND', 4);
    expect(unknown.hint).toContain('orgplane tokens list');
    // The whole token pasted by mistake: refused without echoing its secret.
    const pasted = await cli(['tokens', 'revoke', secret, '--yes', '--json']);
    expect(pasted.json.error.code).toBe('INVALID_TOKEN_ID');
    expect(pasted.exitCode).toBe(2);
    expect(pasted.stdout + pasted.stderr).not.toContain(secret.slice(`op_${id}_`.length));
    await refused(['tokens', 'revoke', id], 'CONFIRMATION_REQUIRED', 2);
  });

  it('revoke: every control-plane instance refuses the token (401, exit 3) from the next request on', async () => {
    expect((await cli(['shards', 'list', '--json'], { token: secret, url: otherUrl })).exitCode).toBe(0);
    const revoked = await ok(['tokens', 'revoke', id, '--reason', 'leaked', '--yes'], { url: otherUrl });
    expect(revoked).toEqual({ id, revokedAt: expect.any(String) });
    for (const where of [url, otherUrl]) {
      const res = await cli(['shards', 'list', '--json'], { token: secret, url: where });
      expect(res.json.error.code, where).toBe('UNAUTHORIZED');
      expect(res.exitCode).toBe(3);
    }
    const listed = (await ok(['tokens', 'list'])).tokens.find((t: { id: string }) => t.id === id);
    expect(listed.revokedAt).toBe(revoked.revokedAt);
    expect((await cli(['tokens', 'revoke', id, '--yes'])).stdout).toContain(`token ${id} revoked at ${revoked.revokedAt}`);
  });
});

describe('orgplane shards merge', { timeout: 120_000 }, () => {
  it('refuses spans across clusters, bounds that are not range boundaries, and bad input, changing nothing', async () => {
    const across = await refused(['shards', 'merge', '--range', '1000-2999'], 'INVALID_RANGES', 2);
    expect(across.message).toContain('spans clusters primary-1 and primary-2');
    expect(across.hint).toContain('merge a smaller span (see `orgplane shards list`)');
    expect(across.hint).not.toMatch(/assign \[/); // routing a range elsewhere without its rows would strand them
    // Not adjacent: 0-999 and 3000-... are both on primary-1, but 2000-2999 lies between.
    await refused(['shards', 'merge', '--range', `0-${ORG_ID_MAX}`], 'INVALID_RANGES', 2);
    const inside = await refused(['shards', 'merge', '--range', '0-1500'], 'INVALID_RANGES', 2);
    expect(inside.message).toContain('no range ends at 1500');
    expect(inside.hint).toBe('split there first: `orgplane shards split --at 1501`');
    const start = await refused(['shards', 'merge', '--range', '5-1999'], 'INVALID_RANGES', 2);
    expect(start.message).toContain('no range starts at 5');
    expect(start.hint).toBe('split there first: `orgplane shards split --at 5`');
    await refused(['shards', 'merge', '--range', '0-999'], 'INVALID_RANGES', 2);
    await refused(['shards', 'merge', '--range', '1999-0'], 'INVALID_RANGE', 2);
    await refused(['shards', 'merge', '--range', 'zero-999'], 'INVALID_RANGE', 2);
    await refused(['shards', 'merge', '--range', '0-1999', '--expected-version', '1'], 'VERSION_CONFLICT', 5);
  });

  it('merges adjacent ranges on one cluster at the expected version', async () => {
    const v = await version();
    const merged = await ok(['shards', 'merge', '--range', '0-1999', '--expected-version', String(v), '--reason', 'undo split']);
    expect(merged.version).toBe(v + 1);
    expect(merged.ranges).toEqual([
      { lo: 0, hi: 1999, clusterId: 'primary-1' },
      { lo: 2000, hi: 2999, clusterId: 'primary-2' },
      { lo: 3000, hi: ORG_ID_MAX, clusterId: 'primary-1' },
    ]);
    const [entry] = (await ok(['audit', 'list', '--limit', '1'])).entries;
    expect(entry).toMatchObject({ action: 'shard-map.merge', reason: 'undo split', version: v + 1 });
  });
});

describe('orgplane orgs pins, pin and unpin', { timeout: 120_000 }, () => {
  it('pin takes the cluster the org is on now, once; pins lists and pages them', async () => {
    expect(await ok(['orgs', 'pins'])).toEqual({ version: await version(), placements: [], nextAfter: null });
    const v = await version();
    const pinned = await ok(['orgs', 'pin', '5', '--reason', 'VIP']);
    expect(pinned).toEqual({
      orgId: 5,
      changed: true,
      version: v + 1,
      placement: { orgId: 5, clusterId: 'primary-1', state: 'active', epoch: 1 },
    });
    const [entry] = (await ok(['audit', 'list', '--limit', '1'])).entries;
    expect(entry).toMatchObject({ action: 'placement.set', reason: 'VIP', version: v + 1 });
    // Again: nothing to do, nothing written.
    expect(await ok(['orgs', 'pin', '5'])).toEqual({ ...pinned, changed: false });
    expect(await version()).toBe(v + 1);
    expect((await ok(['orgs', 'pin', '2001'])).placement.clusterId).toBe('primary-2');
    expect((await cli(['orgs', 'pin', '6'])).stdout).toBe(`org 6 pinned to primary-1 (placement active, epoch 1; config version ${v + 3})`);

    expect((await ok(['orgs', 'pins'])).placements.map((p: { orgId: number }) => p.orgId)).toEqual([5, 6, 2001]);
    expect((await ok(['orgs', 'pins', '--cluster', 'primary-2'])).placements).toEqual([
      { orgId: 2001, clusterId: 'primary-2', state: 'active', epoch: 1 },
    ]);
    const page = await ok(['orgs', 'pins', '--limit', '2']);
    expect(page.placements.map((p: { orgId: number }) => p.orgId)).toEqual([5, 6]);
    expect(page.nextAfter).toBe(6);
    const rest = await ok(['orgs', 'pins', '--limit', '2', '--after', String(page.nextAfter)]);
    expect(rest).toMatchObject({ placements: [{ orgId: 2001 }], nextAfter: null });
    await refused(['orgs', 'pins', '--cluster', 'primary-9'], 'CLUSTER_NOT_FOUND', 4);
    await refused(['orgs', 'pin', 'abc'], 'INVALID_ORG_ID', 2);
    await refused(['orgs', 'pin', '7', '--expected-version', '1'], 'VERSION_CONFLICT', 5);
  });

  it('unpin removes a pin that agrees with the range; a second unpin is PLACEMENT_NOT_FOUND', async () => {
    await refused(['orgs', 'unpin', '6'], 'CONFIRMATION_REQUIRED', 2);
    const v = await version();
    expect(await ok(['orgs', 'unpin', '6', '--reason', 'done', '--yes'])).toEqual({ orgId: 6, version: v + 1 });
    const [entry] = (await ok(['audit', 'list', '--limit', '1'])).entries;
    expect(entry).toMatchObject({ action: 'placement.remove', reason: 'done', version: v + 1, after: null });
    expect(await ok(['orgs', 'locate', '6'])).toMatchObject({ source: 'range', clusterId: 'primary-1' });
    const again = await refused(['orgs', 'unpin', '6', '--yes'], 'PLACEMENT_NOT_FOUND', 4);
    expect(again.hint).toContain('orgplane orgs locate 6');
  });

  it('unpin is refused while a move of the org is unfinished, and so is pin', async () => {
    const started = await ok(['orgs', 'move', '5', '--to', 'primary-2']);
    const moveId = started.moves[0].id as string;
    const moving = await refused(['orgs', 'unpin', '5', '--yes'], 'PLACEMENT_MOVE_IN_FLIGHT', 5);
    expect(moving.details).toMatchObject({ orgId: 5, moveId, state: 'pending' });
    expect(moving.hint).toContain(`orgplane moves show ${moveId}`);
    await ok(['orgs', 'move', '7', '--to', 'primary-2']);
    await refused(['orgs', 'pin', '7'], 'PLACEMENT_MOVE_IN_FLIGHT', 5);
  });

  it("unpin is refused when the pin is not on its range's cluster: the hint says to move the org back first", async () => {
    // Org 8's rows were restored onto primary-2 (its range says primary-1): the pin is what routes it there.
    expect((await api('PUT', '/v1/placements/8', { clusterId: 'primary-2', dataOn: 'primary-2', reason: 'restored' })).status).toBe(200);
    const human = await cli(['orgs', 'unpin', '8', '--yes']);
    expect(human.exitCode).toBe(5);
    expect(human.stderr).toContain('Error [PLACEMENT_OFF_RANGE]');
    const off = await refused(['orgs', 'unpin', '8', '--yes'], 'PLACEMENT_OFF_RANGE', 5);
    expect(off.hint).toBe('move the org back first: `orgplane orgs move 8 --to primary-1 --follow`, then `orgplane orgs unpin 8`');
    expect(await ok(['orgs', 'locate', '8'])).toMatchObject({ source: 'placement', clusterId: 'primary-2' });
  });
});

describe('orgplane shards assign: the guard against stranding rows', { timeout: 120_000 }, () => {
  it('refuses to route a populated range away from its rows (exit 5): the hint moves the data, nothing changes', async () => {
    const stranded = await refused(
      ['shards', 'assign', '--range', '2000-2999', '--to', 'primary-1', '--yes'],
      'ORG_DATA_WOULD_BE_STRANDED',
      5,
    );
    expect(stranded.message).toContain("cluster 'primary-2' holds rows of");
    expect(stranded.details).toMatchObject({ from: 'primary-2', to: 'primary-1', sampleOrgIds: [2000, 2002, 2003, 2004, 2005] });
    expect(stranded.hint).toContain('`orgplane orgs move --from primary-2 --to primary-1 --range 2000-2999 --percent 100 --follow`');
    expect(stranded.hint).toContain('--data-on primary-1 --reason');
    const human = await cli(['shards', 'assign', '--range', '2000-2999', '--to', 'primary-1', '--yes']);
    expect(human.exitCode).toBe(5);
    expect(human.stderr).toContain('Error [ORG_DATA_WOULD_BE_STRANDED]');
  });

  it('--data-on needs --reason, must name --to, and asks for confirmation; nothing changes', async () => {
    const noReason = await refused(
      ['shards', 'assign', '--range', '2000-2999', '--to', 'primary-1', '--data-on', 'primary-1', '--yes'],
      'REASON_REQUIRED',
      2,
    );
    expect(noReason.hint).toContain('--reason');
    const other = await refused(
      ['shards', 'assign', '--range', '2000-2999', '--to', 'primary-1', '--data-on', 'primary-2', '--reason', 'restored', '--yes'],
      'DATA_ON_MISMATCH',
      2,
    );
    expect(other.hint).toBe('--data-on must name the cluster the orgs go to: --data-on primary-1, or leave it out');
    const unconfirmed = await refused(
      ['shards', 'assign', '--range', '2000-2999', '--to', 'primary-1', '--data-on', 'primary-1', '--reason', 'restored'],
      'CONFIRMATION_REQUIRED',
      2,
    );
    expect(unconfirmed.message).toContain('declaring that their rows are already on primary-1');
  });

  it('--data-on routes the range after a restore, and the audit row says it was forced and what the old cluster held', async () => {
    const v = await version();
    const args = [
      'shards',
      'assign',
      '--range',
      '2000-2999',
      '--to',
      'primary-1',
      '--data-on',
      'primary-1',
      '--reason',
      'restored 2000-2999 onto primary-1',
    ];
    const done = await ok([...args, '--yes']);
    expect(done.version).toBe(v + 1);
    expect(done.reroutes).toEqual([
      {
        from: 'primary-2',
        to: 'primary-1',
        ranges: [{ lo: 2000, hi: 2999 }],
        orgIds: [],
        orgsWithRowsOnFrom: expect.any(Number),
        sampleOrgIds: [2000, 2002, 2003, 2004, 2005],
        tombstoned: true,
      },
    ]);
    expect(done.reroutes[0].orgsWithRowsOnFrom).toBeGreaterThan(0);
    const [entry] = (await ok(['audit', 'list', '--limit', '1'])).entries;
    expect(entry).toMatchObject({
      action: 'shard-map.assign',
      reason: 'restored 2000-2999 onto primary-1',
      after: { dataOn: 'primary-1', forced: true, reroutes: done.reroutes },
    });
    // 2001 keeps its pin to primary-2.
    expect(await ok(['orgs', 'locate', '2001'])).toMatchObject({ source: 'placement', clusterId: 'primary-2' });
    expect(await ok(['orgs', 'locate', '2002'])).toMatchObject({ source: 'range', clusterId: 'primary-1' });
  });
});

describe('orgplane and a draining cluster', { timeout: 120_000 }, () => {
  it('takes no new orgs: orgs move and shards assign into it are refused (exit 5); moves out of it work', async () => {
    expect((await api('PATCH', '/v1/clusters/primary-2', { state: 'draining', reason: 'emptying it' })).status).toBe(200);
    const move = await refused(['orgs', 'move', '9', '--to', 'primary-2'], 'CLUSTER_NOT_ACCEPTING_ORGS', 5);
    expect(move.hint).toBe('primary-2 is draining: choose another cluster (`orgplane clusters list`); moves out of it still work');
    await refused(['orgs', 'move', '--from', 'primary-1', '--to', 'primary-2', '--percent', '10'], 'CLUSTER_NOT_ACCEPTING_ORGS', 5);
    await refused(['shards', 'assign', '--range', `3000-${ORG_ID_MAX}`, '--to', 'primary-2', '--yes'], 'CLUSTER_NOT_ACCEPTING_ORGS', 5);
    // 2001 is pinned to primary-2, where its rows are.
    const out = await ok(['orgs', 'move', '2001', '--to', 'primary-1', '--reason', 'draining primary-2']);
    expect(out.moves).toEqual([expect.objectContaining({ orgId: 2001, from: 'primary-2', to: 'primary-1', state: 'pending' })]);
  });
});
