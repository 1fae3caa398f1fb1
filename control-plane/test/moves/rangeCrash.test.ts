// Range moves survive the control-plane process SIGKILLed mid-copy and mid-cutover: the
// executor resumes from the last persisted step and the span ends on the destination with
// every acknowledged write, while orgs outside the span stay byte for byte as they were.
// Writers run on several orgs of the span throughout, routed by the control DB's map.
import { existsSync } from 'node:fs';
import { createTestDatabase } from '@orgplane/embedded';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApiToken } from '../../src/features/auth/createApiToken.js';
import { type Json, ORG_ID_MAX, waitFor } from '../helpers.js';
import { ControlPlaneProcess, MAIN, routeOf } from './controlPlaneProcess.js';
import { MoveWorkload, orgCounts, orgRows, seedOrg } from './workload.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const loads: MoveWorkload[] = [];

describe('range moves and a control plane SIGKILLed', () => {
  let cp: ControlPlaneProcess;
  let control: pg.Pool;
  const tenants: Record<string, pg.Pool> = {};
  let token: string;

  const api = (method: string, url: string, body?: unknown): Promise<Json> => cp.call(token, method, url, body);
  const move = async (id: string): Promise<Json> => (await api('GET', `/v1/moves/${id}`)).body;
  const waitFlipped = (id: string) =>
    waitFor(
      'the range to flip',
      async () => {
        const m = await move(id);
        if (m.state === 'failed') throw new Error(`the move failed: ${m.error}`);
        return m.state === 'flipped';
      },
      120_000,
    );

  /** Writers on three orgs of the span, each following the control DB's map. */
  function startWriters(orgIds: number[]): MoveWorkload[] {
    return orgIds.map((orgId) => {
      const load = new MoveWorkload({ orgId, writers: 2, pauseMs: 3, owner: async () => tenants[await routeOf(control, orgId)]! });
      loads.push(load);
      load.start();
      return load;
    });
  }

  /** After the flip: writers stopped, every acknowledged write on the target, the verification recorded equal. */
  async function checkFlipped(id: string, writers: MoveWorkload[]): Promise<Json> {
    await sleep(300);
    for (const load of writers) {
      const stats = await load.stop();
      expect(stats.errors).toEqual([]);
      expect(stats.acknowledged).toBeGreaterThan(0);
      expect(await load.check(tenants['tenant-b']!)).toEqual([]);
    }
    const done = await move(id);
    expect(done.kind).toBe('range');
    for (const t of done.tables) {
      expect(t.sourceRows, t.table).toBe(t.targetRows);
      expect(t.sourceChecksum, t.table).toBe(t.targetChecksum);
    }
    return done;
  }

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -b\` first`);
    const databaseUrl = await createTestDatabase(inject('pgAdminUrl'), 'control-plane');
    control = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    token = (await createApiToken(databaseUrl, { name: 'range-crash', scope: 'operator' })).token;
    const admin = (await createApiToken(databaseUrl, { name: 'range-crash-admin', scope: 'admin' })).token;
    cp = new ControlPlaneProcess(databaseUrl);
    await cp.start();
    const asAdmin = (method: string, url: string, body: unknown) =>
      fetch(`${cp.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    for (const id of ['tenant-a', 'tenant-b']) {
      const url = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
      tenants[id] = new pg.Pool({ connectionString: url, max: 12 });
      expect((await asAdmin('POST', '/v1/clusters', { id, primary: { url } })).status).toBe(201);
    }
    const ranges = [
      { lo: 0, hi: 9_999, clusterId: 'tenant-a' },
      { lo: 10_000, hi: 19_999, clusterId: 'tenant-a' },
      { lo: 20_000, hi: 29_999, clusterId: 'tenant-a' },
      { lo: 30_000, hi: ORG_ID_MAX, clusterId: 'tenant-a' },
    ];
    expect((await asAdmin('PUT', '/v1/shard-map/ranges', { ranges })).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(loads.map((l) => l.stop()));
    await cp?.kill();
    await control?.end();
    for (const pool of Object.values(tenants)) await pool.end();
  });

  it('SIGKILLed mid-copy: resumes at the first table not copied, flips the range with no pins, completes', async () => {
    const a = tenants['tenant-a']!;
    for (let org = 10_000; org < 10_012; org++) await seedOrg(a, org, { rows: 4000 });
    await seedOrg(a, 9_999, { rows: 20 });
    await seedOrg(a, 20_000, { rows: 20 });
    const outside = { 9999: await orgRows(a, 9_999), 20000: await orgRows(a, 20_000) };
    const writers = startWriters([10_000, 10_005, 10_011]);
    const created = await api('POST', '/v1/moves', {
      range: { lo: 10_000, hi: 19_999 },
      to: 'tenant-b',
      copyStreams: 2,
      graceSeconds: 3600,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id = created.body.moves[0].id;
    expect(created.body.moves[0]).toMatchObject({ kind: 'range', orgId: null, range: { lo: 10_000, hi: 19_999 }, copyStreams: 2 });

    let before: Json;
    await waitFor(
      'the range copying with a table done',
      async () => {
        before = await move(id);
        if (!['pending', 'preparing', 'copying'].includes(before.state)) throw new Error(`the move got to ${before.state} before the kill`);
        return before.state === 'copying' && before.tables.some((t: Json) => t.copiedAt !== null);
      },
      60_000,
    );
    await cp.kill();
    expect((await control.query('SELECT state FROM moves WHERE id = $1', [id])).rows[0].state).toBe('copying');
    const copiedBefore = before.tables.filter((t: Json) => t.copiedAt !== null);
    expect(before.tables.every((t: Json) => typeof t.estimatedRows === 'number')).toBe(true);
    await sleep(300);
    await cp.start();
    await waitFlipped(id);
    const done = await checkFlipped(id, writers);
    for (const table of copiedBefore) expect(done.tables.find((t: Json) => t.table === table.table).copiedAt).toBe(table.copiedAt);
    // The flip reassigned the range and pinned nothing.
    const { rows: pins } = await control.query('SELECT count(*)::int AS n FROM placements');
    expect(pins[0].n).toBe(0);
    expect(await routeOf(control, 10_003)).toBe('tenant-b');
    expect(await routeOf(control, 9_999)).toBe('tenant-a');

    expect((await api('POST', `/v1/moves/${id}/complete`, {})).status).toBe(200);
    await waitFor('the move to complete', async () => (await move(id)).state === 'completed', 60_000);
    for (let org = 10_000; org < 10_012; org++) expect(Object.values(await orgCounts(a, org)).every((n) => n === 0)).toBe(true);
    for (const load of writers) expect(await load.check(tenants['tenant-b']!)).toEqual([]);
    expect(await orgRows(a, 9_999)).toEqual(outside[9999]);
    expect(await orgRows(a, 20_000)).toEqual(outside[20000]);
  }, 300_000);

  it('SIGKILLed mid-cutover: the interrupted cutover runs again and the range ends on the destination, nothing lost', async () => {
    const a = tenants['tenant-a']!;
    for (let org = 20_000; org < 20_008; org++) if (org !== 20_000) await seedOrg(a, org, { rows: 3000 });
    const writers = startWriters([20_000, 20_003, 20_007]);
    const created = await api('POST', '/v1/moves', { range: { lo: 20_000, hi: 29_999 }, to: 'tenant-b', graceSeconds: 3600 });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id = created.body.moves[0].id;
    // The cutover's verify reads the whole span, so `cutting_over` lasts long enough to catch.
    await waitFor(
      'the cutover to start',
      async () => {
        const { rows } = await control.query('SELECT state FROM moves WHERE id = $1', [id]);
        if (rows[0].state === 'flipped') throw new Error('the move flipped before the kill');
        return rows[0].state === 'cutting_over';
      },
      120_000,
    );
    await cp.kill();
    await sleep(300);
    await cp.start();
    await waitFlipped(id);
    const done = await checkFlipped(id, writers);
    expect(done.events.some((e: Json) => e.message.includes('interrupted cutover'))).toBe(true);
    expect(await routeOf(control, 20_005)).toBe('tenant-b');
    // A stale writer on the source (a map from before the flip) is refused, and so is a reader.
    await expect(a.query("UPDATE organizations SET plan = 'stale' WHERE org_id = 20003")).rejects.toMatchObject({ code: 'OPF02' });
    await expect(a.query('SELECT orgplane_claim_org(20003)')).rejects.toMatchObject({ code: 'OPF02' });
  }, 300_000);
});
