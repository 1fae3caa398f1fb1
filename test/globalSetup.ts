// One real Postgres for the whole `npm test` run; each test file clones its own
// database from a migrated template (see control-plane/src/embedded/testing.ts).
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from '../control-plane/src/embedded/testing.js';

export default async function setup(project: TestProject) {
  const pg = await startTestPostgres();
  project.provide('pgAdminUrl', pg.adminUrl);
  return async () => {
    await pg.stop();
  };
}
