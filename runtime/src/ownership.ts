// The ownership check: before the first statement of a transaction or a query, the
// cluster confirms that it serves the org, or refuses with OPF02 (orgplane_claim_org in
// migrations/tenant/1764300000000_ownership-markers.sql). A map that is stale by hours,
// say one loaded from the disk cache while the control plane is down, then gets a
// refusal instead of a wrong answer: an UPDATE of zero rows, an empty read, or a foreign
// key error from a child table of an org whose rows have left.
//
// Cost: nothing extra for transaction() (the check rides with BEGIN in one round trip),
// one round trip for query() (measured by `npm run bench:ownership`).

import { sqlState, withSession } from '@orgplane/kit';
import type pg from 'pg';
import { InvalidOrgIdError } from './errors.js';

/**
 * The check as one statement with the org id inlined: it is sent with BEGIN through the
 * simple query protocol, which takes no parameters. Only a validated id gets here; the
 * check below keeps it that way.
 */
export function claimStatement(orgId: number): string {
  if (!Number.isSafeInteger(orgId) || orgId < 0) throw new InvalidOrgIdError(orgId);
  return `SELECT orgplane_claim_org(${orgId})`;
}

/** One statement on one session of `pool`, after the ownership check (autocommit both). */
// biome-ignore lint/suspicious/noExplicitAny: pg's own default row type
export async function claimedQuery<R extends pg.QueryResultRow = any>(
  pool: pg.Pool,
  orgId: number,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  return withSession<pg.PoolClient, pg.QueryResult<R>>(pool, async (client, broken) => {
    try {
      await client.query(claimStatement(orgId));
      return await client.query<R>(text, values);
    } catch (error) {
      // An error the server sent leaves an autocommit session usable; anything else (a
      // lost connection, a protocol error) may not, so that session is destroyed.
      if (sqlState(error) === undefined) broken(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  });
}
