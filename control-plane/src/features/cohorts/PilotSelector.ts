// Stratified pilot selection in one pass over the population.
//
// Strata: size class (log-4 buckets of sizeRows) x activity class (days since last
// activity). Each stratum gets count x its population share, rounded by largest
// remainder. Inside a stratum the orgs with the lowest hash(seed, orgId) win: a hash is
// a random permutation fixed by the seed, so the pick is a uniform sample that any
// rerun with the same seed and data repeats, whatever order the clusters answer in.
// No sort of the population: each stratum keeps a bounded max-heap of the `count`
// lowest hashes seen so far (a stratum can never need more than `count`).
import type { StratumReport } from './CohortStore.js';
import type { OrgStatsBatch, OrgStatsSource } from './OrgStatsSource.js';

export const SIZE_CLASSES = [
  { label: '0-15', max: 15 },
  { label: '16-63', max: 63 },
  { label: '64-255', max: 255 },
  { label: '256-1023', max: 1023 },
  { label: '1024+', max: Number.POSITIVE_INFINITY },
] as const;

const DAY_MS = 86_400_000;

export const ACTIVITY_CLASSES = [
  { label: '<=7d', maxAgeMs: 7 * DAY_MS },
  { label: '<=30d', maxAgeMs: 30 * DAY_MS },
  { label: '>30d', maxAgeMs: Number.POSITIVE_INFINITY },
] as const;

export interface PilotSelectionInput {
  count: number;
  /** A non-negative safe integer. */
  seed: number;
  exclude?: Iterable<number>;
  /** Activity is measured back from here. */
  now: Date;
}

export interface PilotSelection {
  /** Sorted ascending, no duplicates. */
  orgIds: number[];
  /** Non-empty strata, size class major. */
  strata: StratumReport[];
  /** Orgs eligible after exclusions. */
  population: number;
}

function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 53-bit hash of (seed, orgId): the org's rank in the seed's random order. */
export function pilotHash(seed: number, orgId: number): number {
  return hashWith(mix32(seed ^ 0x9e3779b9), mix32(Math.floor(seed / 4294967296) ^ 0x7f4a7c15), orgId);
}

function hashWith(s1: number, s2: number, orgId: number): number {
  const lo = orgId >>> 0;
  const hi = Math.floor(orgId / 4294967296) >>> 0;
  const a = mix32(mix32(lo ^ s1) ^ hi ^ s2);
  const b = mix32(a ^ mix32(lo ^ s2 ^ 0x85ebca6b));
  return a * 2097152 + (b >>> 11);
}

/** The `capacity` smallest (hash, orgId) pairs seen, as a max-heap over typed arrays. */
class BoundedHeap {
  size = 0;
  private hashes: Float64Array;
  private ids: Float64Array;

  constructor(private readonly capacity: number) {
    this.hashes = new Float64Array(Math.min(capacity, 1024));
    this.ids = new Float64Array(this.hashes.length);
  }

  private grow(): void {
    const next = Math.min(this.capacity, this.hashes.length * 2);
    const hashes = new Float64Array(next);
    const ids = new Float64Array(next);
    hashes.set(this.hashes);
    ids.set(this.ids);
    this.hashes = hashes;
    this.ids = ids;
  }

  private greater(i: number, hash: number, id: number): boolean {
    const h = this.hashes[i]!;
    return h > hash || (h === hash && this.ids[i]! > id);
  }

  private less(i: number, hash: number, id: number): boolean {
    const h = this.hashes[i]!;
    return h < hash || (h === hash && this.ids[i]! < id);
  }

  offer(hash: number, id: number): void {
    if (this.size < this.capacity) {
      if (this.size === this.hashes.length) this.grow();
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.less(parent, hash, id)) break;
        this.hashes[i] = this.hashes[parent]!;
        this.ids[i] = this.ids[parent]!;
        i = parent;
      }
      this.hashes[i] = hash;
      this.ids[i] = id;
      return;
    }
    // Full: only something smaller than the largest kept gets in.
    if (!this.greater(0, hash, id)) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const right = left + 1;
      let child = left;
      if (right < this.size && this.greater(right, this.hashes[left]!, this.ids[left]!)) child = right;
      if (!this.greater(child, hash, id)) break;
      this.hashes[i] = this.hashes[child]!;
      this.ids[i] = this.ids[child]!;
      i = child;
    }
    this.hashes[i] = hash;
    this.ids[i] = id;
  }

  /** The `k` smallest org ids by (hash, orgId). */
  smallest(k: number): number[] {
    const order = Array.from({ length: this.size }, (_, i) => i);
    order.sort((x, y) => this.hashes[x]! - this.hashes[y]! || this.ids[x]! - this.ids[y]!);
    return order.slice(0, k).map((i) => this.ids[i]!);
  }
}

/** Largest-remainder apportionment of `count` over `populations` (none above its population). */
export function apportion(count: number, populations: number[]): number[] {
  const total = populations.reduce((a, b) => a + b, 0);
  if (total === 0) return populations.map(() => 0);
  const quotas = populations.map((p) => (count * p) / total);
  const seats = quotas.map((q, i) => Math.min(Math.floor(q), populations[i]!));
  let left = count - seats.reduce((a, b) => a + b, 0);
  const byRemainder = quotas.map((q, i) => ({ i, r: q - Math.floor(q) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    if (seats[i]! < populations[i]!) {
      seats[i]! += 1;
      left--;
    }
  }
  return seats;
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Draw `count` orgs; fewer only when fewer are eligible (the caller decides if that is an error). */
export async function selectPilot(source: OrgStatsSource, input: PilotSelectionInput): Promise<PilotSelection> {
  const seed = input.seed;
  const s1 = mix32(seed ^ 0x9e3779b9);
  const s2 = mix32(Math.floor(seed / 4294967296) ^ 0x7f4a7c15);
  const excluded = new Set(input.exclude ?? []);
  const checkExcluded = excluded.size > 0;
  const nowMs = input.now.getTime();
  const activityCount = ACTIVITY_CLASSES.length;
  const strata = SIZE_CLASSES.length * activityCount;
  const populations = new Array<number>(strata).fill(0);
  const heaps = Array.from({ length: strata }, () => new BoundedHeap(Math.max(1, input.count)));
  const sizeMax = SIZE_CLASSES.map((c) => c.max);
  const ageMax = ACTIVITY_CLASSES.map((c) => c.maxAgeMs);

  await source.scan((batch: OrgStatsBatch) => {
    for (let i = 0; i < batch.length; i++) {
      const orgId = batch.orgIds[i]!;
      if (checkExcluded && excluded.has(orgId)) continue;
      const size = batch.sizeRows[i]!;
      let sc = 0;
      while (size > sizeMax[sc]!) sc++;
      const age = nowMs - batch.lastActiveAtMs[i]!;
      let ac = 0;
      while (age > ageMax[ac]!) ac++;
      const stratum = sc * activityCount + ac;
      populations[stratum]! += 1;
      heaps[stratum]!.offer(hashWith(s1, s2, orgId), orgId);
    }
  });

  const population = populations.reduce((a, b) => a + b, 0);
  const seats = apportion(Math.min(input.count, population), populations);
  const chosen = new Set<number>();
  const report: StratumReport[] = [];
  const selectedTotal = seats.reduce((a, b) => a + b, 0);
  for (let s = 0; s < strata; s++) {
    if (populations[s] === 0) continue;
    const picked = heaps[s]!.smallest(seats[s]!);
    for (const id of picked) chosen.add(id);
    report.push({
      size: SIZE_CLASSES[Math.floor(s / activityCount)]!.label,
      activity: ACTIVITY_CLASSES[s % activityCount]!.label,
      population: populations[s]!,
      selected: picked.length,
      populationShare: round4(populations[s]! / population),
      selectedShare: selectedTotal === 0 ? 0 : round4(picked.length / selectedTotal),
    });
  }
  const orgIds = [...chosen].sort((a, b) => a - b);
  return { orgIds, strata: report, population };
}
