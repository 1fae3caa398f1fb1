// What a lab looks like: its size limits, the ids of its servers, and how org ids are
// split into one contiguous block per cluster (the seed and the shard map agree on it).
import { LabError } from './errors.js';

export const ORG_ID_MAX = Number.MAX_SAFE_INTEGER;

export interface LabConfig {
  orgs: number;
  clusters: number;
  replicas: number;
}

export const DEFAULT_CONFIG: LabConfig = { orgs: 10_000, clusters: 3, replicas: 1 };

const LIMITS: Record<keyof LabConfig, { min: number; max: number }> = {
  orgs: { min: 1, max: 1_000_000 },
  clusters: { min: 1, max: 10 },
  replicas: { min: 0, max: 3 },
};

/** Throws LAB_INVALID_INPUT unless every given value is an integer within its limits. */
export function validateConfig(given: Partial<LabConfig>): void {
  for (const key of Object.keys(LIMITS) as (keyof LabConfig)[]) {
    const value = given[key];
    if (value === undefined) continue;
    const { min, max } = LIMITS[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new LabError(
        'LAB_INVALID_INPUT',
        `${key} must be a whole number from ${min} to ${max}, got ${String(value)}`,
        `pass --${key} between ${min} and ${max}`,
      );
    }
  }
}

export const clusterId = (n: number): string => `primary-${n}`;
export const replicaId = (cluster: string, m: number): string => `${cluster}-replica-${m}`;
/** Slot names allow only [a-z0-9_]: primary-1-replica-1 streams through primary_1_replica_1. */
export const replicationSlotName = (replica: string): string => replica.replaceAll('-', '_');

export interface OrgBlock {
  clusterId: string;
  /** The shard-map range the cluster serves: together they cover 0..ORG_ID_MAX. */
  lo: number;
  hi: number;
  /** The seeded org ids inside the range, or null when the range holds none. */
  firstOrg: number | null;
  lastOrg: number | null;
}

/** Orgs 1..orgs in equal contiguous blocks; the first range starts at 0, the last ends at ORG_ID_MAX. */
export function orgBlocks(orgs: number, clusters: number): OrgBlock[] {
  const size = Math.ceil(orgs / clusters);
  const blocks: OrgBlock[] = [];
  for (let i = 1; i <= clusters; i++) {
    const lo = i === 1 ? 0 : (i - 1) * size + 1;
    const hi = i === clusters ? ORG_ID_MAX : i * size;
    const firstOrg = Math.max(lo, 1);
    const lastOrg = Math.min(hi, orgs);
    const seeded = firstOrg <= lastOrg;
    blocks.push({ clusterId: clusterId(i), lo, hi, firstOrg: seeded ? firstOrg : null, lastOrg: seeded ? lastOrg : null });
  }
  return blocks;
}
