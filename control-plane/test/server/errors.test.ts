import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, seedClusters, startFixture } from '../helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
  await seedClusters(f.api, ['primary-1']);
});
afterAll(async () => {
  await f?.close();
});

async function auditCount(): Promise<number> {
  const [row] = await f.sql('SELECT count(*)::int AS n FROM audit_log');
  return row.n;
}

describe('error responses', () => {
  it('answers malformed JSON with 400 MALFORMED_JSON and changes nothing', async () => {
    const before = await auditCount();
    for (const rawBody of ['{"at": 5', 'null x', '']) {
      const res = await f.api.request('POST', '/v1/shard-map/split', { rawBody, headers: { 'content-type': 'application/json' } });
      expect(res.status, rawBody).toBe(400);
      expect(res.body).toEqual({ error: { code: 'MALFORMED_JSON', message: expect.any(String), hint: expect.any(String) } });
    }
    expect(await auditCount()).toBe(before);
  });

  it('refuses prototype poisoning as malformed JSON', async () => {
    const res = await f.api.request('POST', '/v1/shard-map/split', {
      rawBody: '{"at": 5, "__proto__": {"admin": true}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_JSON');
  });

  it('answers a 33 MiB body with 413 PAYLOAD_TOO_LARGE and changes nothing', async () => {
    const before = await auditCount();
    // A request that would register a cluster, but for its size.
    const body = JSON.stringify({
      id: 'primary-big',
      primary: { url: 'postgres://u:p@127.0.0.1:5/db' },
      pad: 'x'.repeat(33 * 1024 * 1024),
    });
    const res = await f.api.request('POST', '/v1/clusters', { rawBody: body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await auditCount()).toBe(before);
    expect((await f.api.get('/v1/clusters/primary-big')).status).toBe(404);
  });

  it('accepts a body just under 32 MiB (it is refused by a rule, not the limit)', async () => {
    const body = JSON.stringify({ at: 5, reason: 'x'.repeat(32 * 1024 * 1024 - 100) });
    const res = await f.api.request('POST', '/v1/shard-map/split', { rawBody: body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.details).toEqual([{ field: 'reason', message: expect.stringContaining('2000') }]);
  });

  it('answers an unsupported content type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await f.api.request('POST', '/v1/shard-map/split', {
      rawBody: 'at=5',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    const res = await f.api.get('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it('lists every failing field of a schema violation in details', async () => {
    const res = await f.api.post('/v1/clusters', { id: 'Bad_Id', primary: {}, colour: 'blue', expectedVersion: '3' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    const fields = (res.body.error.details as { field: string }[]).map((d) => d.field).sort();
    expect(fields).toEqual(['colour', 'expectedVersion', 'id', 'primary.url']);
  });

  it('answers an unexpected failure with 500 INTERNAL and an errorId that is in the log', async () => {
    await f.sql('ALTER TABLE audit_log RENAME TO audit_log_gone');
    try {
      const res = await f.api.get('/v1/audit');
      expect(res.status).toBe(500);
      expect(res.body.error).toEqual({
        code: 'INTERNAL',
        message: expect.any(String),
        hint: expect.any(String),
        errorId: expect.any(String),
      });
      expect(res.text).not.toContain('audit_log');
      const logged = f.log.lines.map((line) => JSON.parse(line)).find((entry) => entry.errorId === res.body.error.errorId);
      expect(logged?.err?.message).toContain('audit_log');
    } finally {
      await f.sql('ALTER TABLE audit_log_gone RENAME TO audit_log');
    }
  });
});

describe('org ids', () => {
  it.each(['-1', '1.5', 'abc', '9007199254740992', '1e3'])('answers /v1/orgs/%s/location with 400 INVALID_ORG_ID', async (orgId) => {
    const res = await f.api.get(`/v1/orgs/${orgId}/location`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_ORG_ID');
  });

  it.each([
    ['negative', -1],
    ['non-integer', 1.5],
    ['above 2^53-1', 2 ** 53],
    ['a string', '10'],
  ])('answers a %s org id in a body with 400 INVALID_ORG_ID', async (_name, at) => {
    const res = await f.api.post('/v1/shard-map/split', { at });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_ORG_ID');
    expect(res.body.error.details).toEqual({ field: 'at' });
  });

  it('answers an invalid org id in a placement path with 400 INVALID_ORG_ID', async () => {
    const res = await f.api.put('/v1/placements/-5', { clusterId: 'primary-1' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_ORG_ID');
  });
});
