import { createHash } from 'node:crypto';

/** A stable pseudo-random rank of an org id: the first 32 bits of sha1("<orgId>"). */
export function orgRank(orgId: number): number {
  return createHash('sha1').update(String(orgId)).digest().readUInt32BE(0);
}

/**
 * `percent` % of the orgs (rounded up, so any percent above 0 picks at least one),
 * chosen by rank: the same orgs for the same population, and the orgs chosen at 10 %
 * are among those chosen at 20 %. Returned in ascending id order.
 */
export function choosePercent(orgIds: readonly number[], percent: number): number[] {
  const count = Math.ceil((orgIds.length * percent) / 100);
  if (count === 0) return [];
  return orgIds
    .map((orgId) => ({ orgId, rank: orgRank(orgId) }))
    .sort((a, b) => a.rank - b.rank || a.orgId - b.orgId)
    .slice(0, count)
    .map((entry) => entry.orgId)
    .sort((a, b) => a - b);
}
