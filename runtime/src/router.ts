// Org id -> cluster id. `route()` is on every request path: a pin-table probe, then a binary
// search over at most a few hundred ranges, no allocation (cluster ids are interned, so it
// returns a string that already exists).

import type { PinSource } from './compactSnapshot.js';
import { InvalidOrgIdError, NoRouteError, RuntimeError } from './errors.js';
import { type PinExport, PinTable } from './pinTable.js';
import { ownerOf } from './rules.js';
import {
  type ConfigDelta,
  type ConfigSnapshot,
  isValidOrgId,
  type PlacementState,
  type WireCluster,
  type WirePlacement,
  type WireRange,
} from './wire.js';

/** Placement states by their index in the pin table's state array. */
export const PLACEMENT_STATES: readonly PlacementState[] = ['active', 'fenced', 'moved'];
const STATE_INDEX: ReadonlyMap<string, number> = new Map(PLACEMENT_STATES.map((s, i) => [s, i]));
/** Cluster indexes are stored as Uint16. */
const MAX_CLUSTER_IDS = 0x10000;

/** The pin table's contents plus the interned cluster ids its indexes refer to. */
export interface PinsExport extends PinExport {
  clusterIds: readonly string[];
}

interface RangeArrays {
  lo: Float64Array;
  hi: Float64Array;
  cluster: Uint16Array;
  list: WireRange[];
}

export class Router {
  private clusterIds: string[] = [];
  private clusterIndex = new Map<string, number>();
  private clusterById = new Map<string, WireCluster>();
  private clusterList: WireCluster[] = [];
  private rangeLo: Float64Array = new Float64Array(0);
  private rangeHi: Float64Array = new Float64Array(0);
  private rangeCluster: Uint16Array = new Uint16Array(0);
  private rangeList: WireRange[] = [];
  private pins = new PinTable();

  /**
   * Cluster id serving `orgId`: its pin when there is one (whatever the pin's state), else its
   * range; rules.ts's ownerOf, inlined over the pin table for the request path.
   */
  route(orgId: number): string {
    if (!isValidOrgId(orgId)) throw new InvalidOrgIdError(orgId);
    const pins = this.pins;
    const slot = pins.find(orgId);
    if (slot >= 0) return this.clusterIds[pins.clusterAt(slot)]!;
    const range = this.rangeSlot(orgId);
    if (range < 0) throw new NoRouteError(orgId);
    return this.clusterIds[this.rangeCluster[range]!]!;
  }

  /** The pin for `orgId`, or undefined when the org follows its range. */
  placement(orgId: number): WirePlacement | undefined {
    if (!isValidOrgId(orgId)) throw new InvalidOrgIdError(orgId);
    const slot = this.pins.find(orgId);
    if (slot < 0) return undefined;
    return {
      orgId,
      clusterId: this.clusterIds[this.pins.clusterAt(slot)]!,
      state: PLACEMENT_STATES[this.pins.stateAt(slot)]!,
      epoch: this.pins.epochAt(slot),
    };
  }

  get pinCount(): number {
    return this.pins.size;
  }

  cluster(clusterId: string): WireCluster | undefined {
    return this.clusterById.get(clusterId);
  }

  clusters(): readonly WireCluster[] {
    return this.clusterList;
  }

  /** The ranges, sorted by `lo`. */
  ranges(): readonly WireRange[] {
    return this.rangeList;
  }

  /** Every pin as a wire object; allocates one object per pin (tests, debugging). */
  placements(): WirePlacement[] {
    const out: WirePlacement[] = [];
    this.pins.forEach((orgId, cluster, state, epoch) => {
      out.push({ orgId, clusterId: this.clusterIds[cluster]!, state: PLACEMENT_STATES[state]!, epoch });
    });
    return out;
  }

  /** A compact copy of the pins, consistent at the time of the call (for the disk cache). */
  exportPins(): PinsExport {
    return { ...this.pins.export(), clusterIds: this.clusterIds.slice() };
  }

  /**
   * Replaces everything. Validates first: an invalid snapshot throws and changes nothing.
   * `columns` (a decoded compact snapshot's pins, already checked by its decoder) are added
   * to `snapshot.placements` without one object per pin.
   */
  applySnapshot(snapshot: ConfigSnapshot, columns?: PinSource): void {
    const clusters = validateClusters(snapshot.clusters);
    validatePlacements(snapshot.placements);
    const ranges = validateRanges(snapshot.ranges);
    const interned = new Interner();
    for (const c of clusters) interned.add(c.id);
    for (const r of ranges) interned.add(r.clusterId);
    for (const p of snapshot.placements) interned.add(p.clusterId);
    for (const id of columns?.clusterIds ?? []) interned.add(id);
    interned.check();

    const pins = new PinTable(snapshot.placements.length + (columns?.count ?? 0));
    for (const p of snapshot.placements) pins.set(p.orgId, interned.index(p.clusterId), STATE_INDEX.get(p.state)!, p.epoch);
    if (columns) {
      const index = columns.clusterIds.map((id) => interned.index(id));
      columns.forEach((orgId, cluster, state, epoch) => {
        pins.set(orgId, index[cluster]!, state, epoch);
      });
    }
    this.clusterIds = interned.ids;
    this.clusterIndex = interned.map;
    this.setClusterList(clusters);
    this.installRanges(this.buildRanges(ranges));
    this.pins = pins;
  }

  /**
   * Applies one change. `clusters` and `ranges`, when present, replace the current lists;
   * placements are removed, then upserted. Validates first: an invalid delta throws and
   * changes nothing.
   */
  applyDelta(delta: ConfigDelta): void {
    const clusters = delta.clusters === undefined ? undefined : validateClusters(delta.clusters);
    const ranges = delta.ranges === undefined ? undefined : validateRanges(delta.ranges);
    const upsert = delta.placements?.upsert ?? [];
    const remove = delta.placements?.remove ?? [];
    if (!Array.isArray(upsert) || !Array.isArray(remove)) throw invalid('placements must be {upsert: [], remove: []}');
    validatePlacements(upsert);
    for (const orgId of remove) if (!isValidOrgId(orgId)) throw invalid(`placements.remove holds an invalid org id ${String(orgId)}`);
    const fresh = new Set<string>();
    for (const id of [...(clusters ?? []).map((c) => c.id), ...(ranges ?? []).map((r) => r.clusterId), ...upsert.map((p) => p.clusterId)]) {
      if (!this.clusterIndex.has(id)) fresh.add(id);
    }
    if (this.clusterIds.length + fresh.size > MAX_CLUSTER_IDS) throw invalid(`more than ${MAX_CLUSTER_IDS} cluster ids`);

    if (clusters) this.setClusterList(clusters);
    if (ranges) this.installRanges(this.buildRanges(ranges));
    for (const orgId of remove) this.pins.delete(orgId);
    for (const p of upsert) this.pins.set(p.orgId, this.intern(p.clusterId), STATE_INDEX.get(p.state)!, p.epoch);
  }

  /** Replaces the ranges: non-overlapping, any order (gaps answer NoRouteError). */
  setRanges(ranges: readonly WireRange[]): void {
    const sorted = validateRanges(ranges);
    this.installRanges(this.buildRanges(sorted));
  }

  /** Replaces the cluster list (the routing tables keep their interned ids). */
  setClusters(clusters: readonly WireCluster[]): void {
    this.setClusterList(validateClusters(clusters));
  }

  pin(orgId: number, clusterId: string, state: PlacementState = 'active', epoch = 0): void {
    if (!isValidOrgId(orgId)) throw new InvalidOrgIdError(orgId);
    validatePlacements([{ orgId, clusterId, state, epoch }]);
    if (!this.clusterIndex.has(clusterId) && this.clusterIds.length >= MAX_CLUSTER_IDS) {
      throw invalid(`more than ${MAX_CLUSTER_IDS} cluster ids`);
    }
    this.pins.set(orgId, this.intern(clusterId), STATE_INDEX.get(state)!, epoch);
  }

  /** Removes the pin; the org follows its range again. False when there was none. */
  unpin(orgId: number): boolean {
    if (!isValidOrgId(orgId)) throw new InvalidOrgIdError(orgId);
    return this.pins.delete(orgId);
  }

  private rangeSlot(orgId: number): number {
    const lo = this.rangeLo;
    let n = lo.length;
    if (n === 0) return -1;
    // Branch-free search for the last range with lo <= orgId: with random org ids a
    // branchy binary search mispredicts about every other step.
    let base = 0;
    while (n > 1) {
      const half = n >>> 1;
      base += half & -+(lo[base + half]! <= orgId);
      n -= half;
    }
    return lo[base]! <= orgId && orgId <= this.rangeHi[base]! ? base : -1;
  }

  private intern(clusterId: string): number {
    let index = this.clusterIndex.get(clusterId);
    if (index === undefined) {
      index = this.clusterIds.length;
      this.clusterIds.push(clusterId);
      this.clusterIndex.set(clusterId, index);
    }
    return index;
  }

  private setClusterList(clusters: WireCluster[]): void {
    for (const c of clusters) this.intern(c.id);
    this.clusterList = clusters;
    this.clusterById = new Map(clusters.map((c) => [c.id, c]));
  }

  private buildRanges(sorted: WireRange[]): RangeArrays {
    const n = sorted.length;
    const out: RangeArrays = { lo: new Float64Array(n), hi: new Float64Array(n), cluster: new Uint16Array(n), list: sorted };
    sorted.forEach((r, i) => {
      out.lo[i] = r.lo;
      out.hi[i] = r.hi;
      out.cluster[i] = this.intern(r.clusterId);
    });
    return out;
  }

  private installRanges(r: RangeArrays): void {
    this.rangeLo = r.lo;
    this.rangeHi = r.hi;
    this.rangeCluster = r.cluster;
    this.rangeList = r.list;
  }
}

/** The benchmark baseline: a Map of pins, then a linear scan of the ranges (rules.ts's ownerOf). */
export function linearRoute(
  ranges: readonly WireRange[],
  pins: ReadonlyMap<number, Pick<WirePlacement, 'clusterId'>>,
  orgId: number,
): string {
  if (!isValidOrgId(orgId)) throw new InvalidOrgIdError(orgId);
  const owner = ownerOf(
    pins.get(orgId),
    ranges.find((r) => r.lo <= orgId && orgId <= r.hi),
  );
  if (owner === null) throw new NoRouteError(orgId);
  return owner;
}

class Interner {
  readonly ids: string[] = [];
  readonly map = new Map<string, number>();

  add(id: string): void {
    if (!this.map.has(id)) {
      this.map.set(id, this.ids.length);
      this.ids.push(id);
    }
  }

  index(id: string): number {
    return this.map.get(id)!;
  }

  check(): void {
    if (this.ids.length > MAX_CLUSTER_IDS) throw invalid(`more than ${MAX_CLUSTER_IDS} cluster ids`);
  }
}

function invalid(message: string): RuntimeError {
  return new RuntimeError('INVALID_CONFIG', `invalid config: ${message}`);
}

function isClusterId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function validateClusters(clusters: readonly WireCluster[]): WireCluster[] {
  if (!Array.isArray(clusters)) throw invalid('clusters must be an array');
  for (const c of clusters) {
    if (!isClusterId(c?.id)) throw invalid('a cluster has no id');
    if (typeof c.primary?.url !== 'string') throw invalid(`cluster ${c.id} has no primary url`);
  }
  return clusters.slice();
}

/** Returns the ranges sorted by `lo`; throws on malformed or overlapping ranges. */
function validateRanges(ranges: readonly WireRange[]): WireRange[] {
  if (!Array.isArray(ranges)) throw invalid('ranges must be an array');
  for (const r of ranges) {
    if (!isValidOrgId(r?.lo) || !isValidOrgId(r.hi) || r.lo > r.hi || !isClusterId(r.clusterId)) {
      throw invalid(`malformed range ${JSON.stringify(r)}`);
    }
  }
  const sorted = ranges.map((r) => ({ lo: r.lo, hi: r.hi, clusterId: r.clusterId })).sort((a, b) => a.lo - b.lo);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.lo <= prev.hi) throw invalid(`ranges [${prev.lo}, ${prev.hi}] and [${cur.lo}, ${cur.hi}] overlap`);
  }
  return sorted;
}

function validatePlacements(placements: readonly WirePlacement[]): void {
  if (!Array.isArray(placements)) throw invalid('placements must be an array');
  for (const p of placements) {
    if (!isValidOrgId(p?.orgId)) throw invalid(`a placement has an invalid org id ${String(p?.orgId)}`);
    if (!isClusterId(p.clusterId)) throw invalid(`placement of org ${p.orgId} has no cluster id`);
    if (!STATE_INDEX.has(p.state)) throw invalid(`placement of org ${p.orgId} has an unknown state ${String(p.state)}`);
    if (typeof p.epoch !== 'number' || !Number.isFinite(p.epoch)) throw invalid(`placement of org ${p.orgId} has an invalid epoch`);
  }
}
