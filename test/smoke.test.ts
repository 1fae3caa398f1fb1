import pg from 'pg';
import { expect, inject, it } from 'vitest';
import { createTestDatabase } from '../embedded/src/testing.js';

it('clones a migrated tenant database', async () => {
  const url = await createTestDatabase(inject('pgAdminUrl'), 'tenant');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'revenues'::regclass`);
  await c.end();
  expect(rows[0].n).toBeGreaterThan(12);
});
