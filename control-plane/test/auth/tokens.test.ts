import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/index.js';
import { Api, type Fixture, startFixture, startInstance } from '../helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

describe('authentication', () => {
  it('answers 401 UNAUTHORIZED without a token, with a malformed one, and with an unknown one', async () => {
    for (const token of [undefined, 'not-a-token', `op_0123456789abcdef_${'A'.repeat(43)}`]) {
      const res = await f.api.as(token).get('/v1/shard-map');
      expect(res.status, String(token)).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('answers 401 for a known id with the wrong secret', async () => {
    const id = f.tokens.operator.slice(3, 19);
    const forged = `op_${id}_${'B'.repeat(43)}`;
    expect(forged).not.toBe(f.tokens.operator);
    expect((await f.api.as(f.tokens.operator).get('/v1/shard-map')).status).toBe(200);
    expect((await f.api.as(forged).get('/v1/shard-map')).status).toBe(401);
  });

  it('checks the token before the body: no token and a bad body is still 401', async () => {
    const res = await f.api.as(undefined).request('PUT', '/v1/shard-map/ranges', {
      rawBody: '{not json',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(401);
  });

  it('changes nothing for a valid mutation sent without a token or with a wrong-scope one', async () => {
    const state = async () => {
      const [v] = await f.sql('SELECT version::int AS version FROM config_version');
      const [a] = await f.sql('SELECT count(*)::int AS n FROM audit_log');
      const [c] = await f.sql('SELECT count(*)::int AS n FROM clusters');
      return { version: v.version, audit: a.n, clusters: c.n };
    };
    const before = await state();
    const body = { id: 'primary-401', primary: { url: 'postgres://u:p@127.0.0.1:5/db' } };
    expect((await f.api.as(undefined).request('POST', '/v1/clusters', { body })).status).toBe(401);
    expect((await f.api.as(f.tokens.operator).request('POST', '/v1/clusters', { body })).status).toBe(403);
    expect(await state()).toEqual(before);
    // The same request with an admin token does change things: the check above can fail.
    expect((await f.api.as(f.tokens.admin).request('POST', '/v1/clusters', { body })).status).toBe(201);
    expect((await state()).clusters).toBe(before.clusters + 1);
  });

  it('leaves /healthz and /readyz open and puts /metrics behind any valid token', async () => {
    expect((await f.api.as(undefined).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await f.api.as(undefined).get('/readyz')).body).toEqual({ status: 'ready' });
    expect((await f.api.as(undefined).get('/metrics')).status).toBe(401);
    expect((await f.api.as(f.tokens['sdk:read']).get('/metrics')).status).toBe(200);
  });
});

describe('scopes', () => {
  // [method, path, body, scopes allowed besides admin]
  const matrix: [string, string, unknown, string[]][] = [
    ['GET', '/v1/config', undefined, ['sdk:read', 'operator', 'rollout']],
    ['GET', '/v1/orgs/5/location', undefined, ['sdk:read', 'operator', 'rollout']],
    ['GET', '/v1/clusters', undefined, ['operator', 'rollout']],
    ['GET', '/v1/shard-map', undefined, ['operator', 'rollout']],
    ['GET', '/v1/shard-map/history', undefined, ['operator', 'rollout']],
    ['GET', '/v1/placements', undefined, ['operator', 'rollout']],
    ['GET', '/v1/audit', undefined, ['operator']],
    ['POST', '/v1/shard-map/split', { at: 10 }, ['operator']],
    ['PUT', '/v1/placements/5', { clusterId: 'nope' }, ['operator']],
    ['POST', '/v1/clusters', { id: 'x', primary: { url: 'postgres://h/db' } }, []],
    ['GET', '/v1/tokens', undefined, []],
    ['POST', '/v1/tokens', { name: 'n', scope: 'sdk:read' }, []],
  ];

  it.each(matrix)('%s %s is 403 FORBIDDEN for scopes other than admin + %j', async (method, path, body, allowed) => {
    for (const scope of ['operator', 'rollout', 'sdk:read'] as const) {
      const res = await f.api.as(f.tokens[scope]).request(method as 'GET', path, body === undefined ? {} : { body });
      if (allowed.includes(scope)) expect(res.status, `${scope} ${res.text}`).not.toBe(403);
      else {
        expect(res.status, `${scope} should be refused`).toBe(403);
        expect(res.body.error.code).toBe('FORBIDDEN');
      }
    }
  });

  it('refuses an sdk:read token on a mutation with 403 and changes nothing', async () => {
    const before = await f.sql('SELECT version FROM config_version');
    const res = await f.api.as(f.tokens['sdk:read']).put('/v1/shard-map/ranges', { ranges: [] });
    expect(res.status).toBe(403);
    expect(await f.sql('SELECT version FROM config_version')).toEqual(before);
  });

  it('refuses an operator token on POST /v1/tokens with 403', async () => {
    const res = await f.api.as(f.tokens.operator).post('/v1/tokens', { name: 'sneaky', scope: 'admin' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(await f.sql(`SELECT id FROM api_tokens WHERE name = 'sneaky'`)).toEqual([]);
  });
});

describe('token routes', () => {
  it('creates a token, shows its secret once, stores only sha256 of it, and audits it', async () => {
    const res = await f.api.post('/v1/tokens', { name: 'ci', scope: 'operator', reason: 'pipeline' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), name: 'ci', scope: 'operator', token: expect.stringMatching(/^op_/) });
    const secret = res.body.token.slice(`op_${res.body.id}_`.length);
    const [row] = await f.sql('SELECT secret_hash FROM api_tokens WHERE id = $1', [res.body.id]);
    expect(row.secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(await f.sql('SELECT * FROM api_tokens'))).not.toContain(secret);

    const list = await f.api.get('/v1/tokens');
    const listed = list.body.tokens.find((t: { id: string }) => t.id === res.body.id);
    expect(listed).toEqual({ id: res.body.id, name: 'ci', scope: 'operator', createdAt: expect.any(String), revokedAt: null });
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toContain('secretHash');

    const audit = await f.api.get('/v1/audit?action=token.create&limit=1');
    expect(audit.body.entries[0]).toMatchObject({
      actor: 'test-admin',
      action: 'token.create',
      reason: 'pipeline',
      before: null,
      after: { id: res.body.id, name: 'ci', scope: 'operator' },
      version: null,
    });
    expect(JSON.stringify(audit.body)).not.toContain(secret);
  });

  it('revokes a token: it stops working at once (401), and revoking again changes nothing', async () => {
    const created = await f.api.post('/v1/tokens', { name: 'short-lived', scope: 'operator' });
    const token = created.body.token as string;
    expect((await f.api.as(token).get('/v1/shard-map')).status).toBe(200);

    const revoked = await f.api.delete(`/v1/tokens/${created.body.id}?reason=leaked`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ id: created.body.id, revokedAt: expect.any(String) });

    const res = await f.api.as(token).get('/v1/shard-map');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');

    const again = await f.api.delete(`/v1/tokens/${created.body.id}`);
    expect(again.body).toEqual(revoked.body);
    const rows = await f.sql(
      `SELECT reason, actor, before->>'revokedAt' AS before_revoked FROM audit_log WHERE action = 'token.revoke' AND after->>'id' = $1`,
      [created.body.id],
    );
    expect(rows).toEqual([{ reason: 'leaked', actor: 'test-admin', before_revoked: null }]);
  });

  it('a revoked token gets 401 at once from every instance, not only the one that revoked it', async () => {
    // Tokens are checked against the control DB on every request (no per-instance cache),
    // so a second instance behind the load balancer refuses it on its very next request.
    const other = await startInstance(f.databaseUrl);
    try {
      const created = await f.api.post('/v1/tokens', { name: 'two-instances', scope: 'operator' });
      const token = created.body.token as string;
      const onOther = new Api(other.app, token);
      for (let i = 0; i < 3; i++) expect((await onOther.get('/v1/shard-map')).status).toBe(200);
      expect((await f.api.delete(`/v1/tokens/${created.body.id}`)).status).toBe(200);
      const res = await onOther.get('/v1/shard-map');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect((await f.api.as(token).get('/v1/shard-map')).status).toBe(401);
      // The secret was in one response (the create) and nowhere else: not the log, not another body.
      const secret = token.slice(`op_${created.body.id}_`.length);
      expect(f.log.text).not.toContain(secret);
      expect(f.api.transcript.filter((body) => body.includes(secret))).toEqual([created.text]);
    } finally {
      await other.close();
    }
  });

  it('answers TOKEN_NOT_FOUND for an unknown id and INVALID_INPUT for an unknown scope', async () => {
    expect((await f.api.delete('/v1/tokens/nope')).body.error.code).toBe('TOKEN_NOT_FOUND');
    const res = await f.api.post('/v1/tokens', { name: 'x', scope: 'root' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    expect(res.body.error.details).toEqual([{ field: 'scope', message: expect.any(String) }]);
  });

  it('createApiToken mints a working token directly in the DB, audited as bootstrap', async () => {
    const { id, token } = await createApiToken(f.databaseUrl, { name: 'lab', scope: 'sdk:read' });
    expect(token.startsWith(`op_${id}_`)).toBe(true);
    expect((await f.api.as(token).get('/v1/config')).status).toBe(200);
    expect((await f.api.as(token).get('/v1/clusters')).status).toBe(403);
    const [row] = await f.sql(`SELECT actor, token_id FROM audit_log WHERE action = 'token.create' AND after->>'id' = $1`, [id]);
    expect(row).toEqual({ actor: 'bootstrap', token_id: null });
    await expect(createApiToken(f.databaseUrl, { name: 'x', scope: 'root' as 'admin' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
