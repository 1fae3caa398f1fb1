// One real Postgres for the whole `npm test` run; each test file clones its own
// database from a migrated template (see embedded/src/testing.ts).
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from '../embedded/src/testing.js';

export default async function setup(project: TestProject) {
  const pg = await startTestPostgres();
  project.provide('pgAdminUrl', pg.adminUrl);
  return async () => {
    await pg.stop();
  };
}
