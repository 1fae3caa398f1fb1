import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { generateToken, hashSecret, parseToken, secretMatches } from '../../src/features/auth/tokenFormat.js';
import { etagMatches } from '../../src/http/etag.js';
import { parseOrgIdText, requireOrgId } from '../../src/lib/orgId.js';
import { parsePostgresUrl, redactPostgresUrl, scrubUrlPasswords } from '../../src/lib/postgresUrl.js';
import { thrownBy } from '../thrownBy.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({ ORGPLANE_DATABASE_URL: 'postgres://u:p@h/db' })).toEqual({
      databaseUrl: 'postgres://u:p@h/db',
      host: '127.0.0.1',
      port: 7070,
      logLevel: 'info',
      heartbeatMs: 15_000,
      maxSnapshotSends: 64,
      snapshotRetryAfterSeconds: 1,
      migrateOnBoot: true,
      moves: { executor: true, concurrency: 8, pollMs: 1000, lagThresholdBytes: 67_108_864, retryBaseMs: 2000, maxFailures: 5 },
      prometheusUrl: null,
      gateTickMs: 1000,
      prometheusTimeoutMs: 5000,
      replicaProbeMs: 1000,
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        ORGPLANE_DATABASE_URL: 'postgresql://h/db',
        ORGPLANE_HOST: '0.0.0.0',
        ORGPLANE_PORT: '8080',
        ORGPLANE_LOG_LEVEL: 'warn',
        ORGPLANE_HEARTBEAT_MS: '500',
        ORGPLANE_CONFIG_MAX_SNAPSHOT_SENDS: '10',
        ORGPLANE_CONFIG_RETRY_AFTER_S: '5',
        ORGPLANE_MIGRATE: 'false',
        ORGPLANE_MOVE_EXECUTOR: 'off',
        ORGPLANE_MOVE_CONCURRENCY: '2',
        ORGPLANE_MOVE_POLL_MS: '50',
        ORGPLANE_MOVE_LAG_THRESHOLD_BYTES: '1000',
        ORGPLANE_MOVE_RETRY_BASE_MS: '100',
        ORGPLANE_MOVE_MAX_FAILURES: '3',
        ORGPLANE_PROMETHEUS_URL: 'http://prom:9090/',
        ORGPLANE_GATE_TICK_MS: '250',
        ORGPLANE_PROMETHEUS_TIMEOUT_MS: '2000',
        ORGPLANE_REPLICA_PROBE_MS: '250',
      }),
    ).toEqual({
      databaseUrl: 'postgresql://h/db',
      host: '0.0.0.0',
      port: 8080,
      logLevel: 'warn',
      heartbeatMs: 500,
      maxSnapshotSends: 10,
      snapshotRetryAfterSeconds: 5,
      migrateOnBoot: false,
      moves: { executor: false, concurrency: 2, pollMs: 50, lagThresholdBytes: 1000, retryBaseMs: 100, maxFailures: 3 },
      prometheusUrl: 'http://prom:9090',
      gateTickMs: 250,
      prometheusTimeoutMs: 2000,
      replicaProbeMs: 250,
    });
  });

  it.each([
    [{}],
    [{ ORGPLANE_DATABASE_URL: 'mysql://h/db' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_PORT: 'http' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_PORT: '70000' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_LOG_LEVEL: 'loud' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_HEARTBEAT_MS: '60000' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_MIGRATE: 'maybe' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_CONFIG_MAX_SNAPSHOT_SENDS: '0' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_CONFIG_RETRY_AFTER_S: 'soon' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_MOVE_EXECUTOR: 'sometimes' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_MOVE_CONCURRENCY: '0' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_PROMETHEUS_URL: 'prom:9090' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_PROMETHEUS_URL: 'not a url' }],
    [{ ORGPLANE_DATABASE_URL: 'postgres://h/db', ORGPLANE_GATE_TICK_MS: '10' }],
  ])('refuses %j with a ConfigError', (env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
  });

  it('never puts the database URL in its error messages', () => {
    const error = thrownBy(() => loadConfig({ ORGPLANE_DATABASE_URL: 'postgres://u:hunter2@h/db', ORGPLANE_PORT: 'x' }));
    expect(error).toBeInstanceOf(ConfigError);
    const { message, hint } = error as ConfigError;
    expect(`${message} ${hint}`).not.toContain('hunter2');
  });
});

describe('postgres URLs', () => {
  it('drop the password from userinfo and query string, keeping the rest', () => {
    expect(redactPostgresUrl('postgres://alice:s3cr%40t@db.example:5432/app?sslmode=require&password=x')).toBe(
      'postgres://alice@db.example:5432/app?sslmode=require',
    );
    expect(redactPostgresUrl('postgresql://bob@h/db')).toBe('postgresql://bob@h/db');
  });

  it('accept postgres:// and postgresql:// only, without echoing the value', () => {
    expect(parsePostgresUrl('postgresql://h/db', 'url')).toBe('postgresql://h/db');
    for (const bad of ['http://u:topsecret@h/db', 'not a url topsecret', 'postgres://:topsecret@/db']) {
      const err = thrownBy(() => parsePostgresUrl(bad, 'url'));
      expect(err, bad).toMatchObject({ code: 'INVALID_INPUT' });
      expect(JSON.stringify(err) + (err as Error).message).not.toContain('topsecret');
    }
  });

  it('are scrubbed from free text', () => {
    expect(scrubUrlPasswords('connect postgres://u:hunter2@h:5432/db?sslpassword=hunter3 failed; host=h password=hunter4')).toBe(
      'connect postgres://u:[redacted]@h:5432/db?sslpassword=[redacted] failed; host=h password=[redacted]',
    );
  });
});

describe('org ids', () => {
  it('accept 0 and 2^53-1', () => {
    expect(requireOrgId(0, 'orgId')).toBe(0);
    expect(parseOrgIdText('9007199254740991', 'orgId')).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([[-1], [1.5], ['5'], [null], [Number.MAX_SAFE_INTEGER + 1], [Number.NaN]])('refuse %s in a body', (value) => {
    expect(() => requireOrgId(value, 'orgId')).toThrow(expect.objectContaining({ code: 'INVALID_ORG_ID' }));
  });

  it.each([['-1'], ['1.5'], ['abc'], ['9007199254740992'], ['1e3'], [''], [' 1']])('refuse %j in a path', (text) => {
    expect(() => parseOrgIdText(text, 'orgId')).toThrow(expect.objectContaining({ code: 'INVALID_ORG_ID' }));
  });
});

describe('tokens', () => {
  it('round-trip op_<id>_<secret> and match only their own hash', () => {
    const { id, secret, token } = generateToken();
    expect(token).toMatch(/^op_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(parseToken(token)).toEqual({ id, secret });
    expect(secretMatches(secret, hashSecret(secret))).toBe(true);
    expect(secretMatches(generateToken().secret, hashSecret(secret))).toBe(false);
    expect(parseToken('op_abc_def')).toBeNull();
  });
});

describe('ETag matching', () => {
  it('matches the quoted version, weak tags, lists and *', () => {
    expect(etagMatches('"7"', '"7"')).toBe(true);
    expect(etagMatches('W/"7"', '"7"')).toBe(true);
    expect(etagMatches('"3", "7"', '"7"')).toBe(true);
    expect(etagMatches('*', '"7"')).toBe(true);
    expect(etagMatches('"6"', '"7"')).toBe(false);
    expect(etagMatches('7', '"7"')).toBe(false);
  });
});
