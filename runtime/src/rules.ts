// @orgplane/runtime/rules: the pure rules every component decides by, with no pg, no
// prom-client and no I/O, so the control plane and tools import them without the SDK.

import { isValidOrgId, type WirePlacement, type WireRange } from './wire.js';

export { rolloutBucket } from './flags.js';

/**
 * Where the shard map sends an org: its pin (whatever the pin's state: a fenced or moved
 * pin still names the cluster that answers for the org), else the range that holds it,
 * else null. The Router's route() is this rule over its pin table and sorted ranges.
 */
export function ownerOf(
  pin: Pick<WirePlacement, 'clusterId'> | null | undefined,
  range: Pick<WireRange, 'clusterId'> | null | undefined,
): string | null {
  return pin?.clusterId ?? range?.clusterId ?? null;
}

/** The range holding `orgId` among ranges sorted by `lo` and not overlapping (binary search). */
export function rangeHolding<R extends WireRange>(sortedRanges: readonly R[], orgId: number): R | undefined {
  let lo = 0;
  let hi = sortedRanges.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sortedRanges[mid]!.lo <= orgId) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const range = found >= 0 ? sortedRanges[found] : undefined;
  return range !== undefined && orgId <= range.hi ? range : undefined;
}

/**
 * ownerOf over a whole map: sorts the ranges once and answers each org id with a pin probe
 * and a binary search. Null for an org no range holds, an org id the map could not hold
 * included (say, a negative id read from a tenant database): no cluster owns it.
 */
export function ownerLookup(
  ranges: readonly WireRange[],
  placements: ReadonlyMap<number, Pick<WirePlacement, 'clusterId'>> | readonly Pick<WirePlacement, 'orgId' | 'clusterId'>[],
): (orgId: number) => string | null {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo);
  const pins: ReadonlyMap<number, Pick<WirePlacement, 'clusterId'>> = Array.isArray(placements)
    ? new Map((placements as readonly Pick<WirePlacement, 'orgId' | 'clusterId'>[]).map((p) => [p.orgId, p]))
    : (placements as ReadonlyMap<number, Pick<WirePlacement, 'clusterId'>>);
  return (orgId) => {
    if (!isValidOrgId(orgId)) return null;
    return ownerOf(pins.get(orgId), rangeHolding(sorted, orgId));
  };
}
