export { migrate, migrationsDir, type SchemaName } from '../db/migrate.js';
export * from './postgresServer.js';
export * from './prometheus.js';
export { createTestDatabase, startTestPostgres, TEMPLATE_DB, type TestPostgres } from './testing.js';
