import pg from 'pg';
import { Database } from '../../db/Database.js';
import { InvalidInputError } from '../../errors.js';
import { createStores } from '../../stores.js';
import { BOOTSTRAP_ACTOR, SCOPES, type Scope } from './Actor.js';
import { TokenService } from './TokenService.js';

/**
 * Mint a token straight in the control DB, for bootstrapping (the lab calls it before
 * the server starts, when no admin token exists yet to call POST /v1/tokens with).
 * The control DB must be migrated. Audited as actor `bootstrap`.
 */
export async function createApiToken(databaseUrl: string, input: { name: string; scope: Scope }): Promise<{ id: string; token: string }> {
  if (!SCOPES.includes(input.scope)) {
    throw new InvalidInputError(`scope '${String(input.scope)}' is not one of ${SCOPES.join(', ')}`, {
      details: [{ field: 'scope', message: `must be one of ${SCOPES.join(', ')}` }],
    });
  }
  if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 200) {
    throw new InvalidInputError('name must be 1..200 characters', { details: [{ field: 'name', message: 'must be 1..200 characters' }] });
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const created = await new TokenService(new Database(pool, createStores)).create(BOOTSTRAP_ACTOR, input);
    return { id: created.id, token: created.token };
  } finally {
    await pool.end();
  }
}
