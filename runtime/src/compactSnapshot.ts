// The compact snapshot: the config at one version with its pins as columns instead of one
// JSON object per pin. The runtime owns this format (like wire.ts): the control plane
// encodes it for `GET /v1/config` with `Accept: application/vnd.orgplane.config+compact`,
// and the runtime writes its disk cache in it. A million pins take about 5 MB instead of
// 69 MB of JSON, and installing one reads its pins from the bytes, without one object per pin.
//
// Layout (all integers little-endian):
//   0   4 bytes  magic "OPC" + format version 0x01
//   4   u32      total length in bytes, trailer included
//   8   u32      header length H
//   12  H bytes  header: UTF-8 JSON, the snapshot without `placements`, plus
//                `pinCount` and `pinClusters` (the cluster ids that pin columns index)
//   then four columns of `pinCount` entries each, pins sorted by org id:
//                org ids as LEB128 varints, the first as is, each next one as the gap
//                from the one before (>= 1: strictly ascending, no duplicates);
//                cluster indexes into `pinClusters`, varints;
//                states (index into PLACEMENT_STATES), one byte each;
//                epochs, varints
//   last 4 bytes u32 CRC-32 of every byte before it
// A decoder refuses anything else with CorruptSnapshotError: nothing is half-applied.

import { crc32 } from 'node:zlib';
import { RuntimeError } from './errors.js';
import { type PinsExport, PLACEMENT_STATES } from './router.js';
import { type ConfigSnapshot, isValidOrgId, type WirePlacement } from './wire.js';

/** The media type that asks `GET /v1/config` for this encoding. */
export const COMPACT_MEDIA_TYPE = 'application/vnd.orgplane.config+compact';
export const COMPACT_MAGIC = Uint8Array.of(0x4f, 0x50, 0x43, 0x01);
const FIXED_HEAD = 12;
const TRAILER = 4;
/** A varint of an org id (< 2^53) takes at most 8 bytes of 7 bits. */
const MAX_VARINT_BYTES = 8;
const MAX_CLUSTER_IDS = 0x10000;

/**
 * The pins of a decoded compact snapshot, read straight from its bytes: installing a
 * million of them allocates nothing but the pin table they go into.
 */
export interface PinSource {
  readonly count: number;
  /** The cluster ids that `clusterIndex` refers to. */
  readonly clusterIds: readonly string[];
  /** Every pin in org id order; `state` indexes PLACEMENT_STATES. */
  forEach(fn: (orgId: number, clusterIndex: number, state: number, epoch: number) => void): void;
}

/** A decoded compact snapshot: the snapshot (its `placements` empty) and its pins. */
export interface CompactConfig {
  snapshot: ConfigSnapshot;
  pins: PinSource;
}

/** A compact snapshot that is truncated, corrupt or not one at all (wire or disk). */
export class CorruptSnapshotError extends RuntimeError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('SNAPSHOT_CORRUPT', `compact snapshot refused: ${message}`, {
      cause: options.cause,
      hint: 'the runtime keeps its last good config; it fetches the snapshot again',
    });
    this.name = 'CorruptSnapshotError';
  }
}

/** True when `bytes` start like a compact snapshot (a JSON one starts with `{`). */
export function isCompact(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && COMPACT_MAGIC.every((b, i) => bytes[i] === b);
}

/** Pins given as wire objects (the control plane's list), as columns. */
export function pinsFromPlacements(placements: readonly WirePlacement[]): PinsExport {
  const count = placements.length;
  const clusterIds: string[] = [];
  const index = new Map<string, number>();
  const out: PinsExport = {
    count,
    orgIds: new Float64Array(count),
    clusterIndexes: new Uint16Array(count),
    states: new Uint8Array(count),
    epochs: new Float64Array(count),
    clusterIds,
  };
  placements.forEach((p, i) => {
    let c = index.get(p.clusterId);
    if (c === undefined) {
      c = clusterIds.length;
      if (c >= MAX_CLUSTER_IDS) throw new RangeError(`compact snapshot: more than ${MAX_CLUSTER_IDS} cluster ids`);
      clusterIds.push(p.clusterId);
      index.set(p.clusterId, c);
    }
    const state = PLACEMENT_STATES.indexOf(p.state);
    if (state < 0) throw new RangeError(`compact snapshot: placement of org ${p.orgId} has state ${String(p.state)}`);
    out.orgIds[i] = p.orgId;
    out.clusterIndexes[i] = c;
    out.states[i] = state;
    out.epochs[i] = p.epoch;
  });
  return out;
}

/** Encodes `snapshot` (its `placements` ignored) with `pins`, in any order. */
export function encodeCompact(snapshot: Omit<ConfigSnapshot, 'placements'>, pins: PinsExport): Uint8Array {
  const { count, orgIds, clusterIndexes, states, epochs } = pins;
  const order = sortedOrder(orgIds, count);
  const { placements: _ignored, ...rest } = snapshot as ConfigSnapshot;
  const header = new TextEncoder().encode(JSON.stringify({ ...rest, pinCount: count, pinClusters: pins.clusterIds }));
  // Worst case per pin: 8 (id) + 3 (cluster) + 1 (state) + 8 (epoch) bytes.
  const out = new Uint8Array(FIXED_HEAD + header.length + count * 20 + TRAILER);
  const view = new DataView(out.buffer);
  out.set(COMPACT_MAGIC, 0);
  view.setUint32(8, header.length, true);
  out.set(header, FIXED_HEAD);
  let at = FIXED_HEAD + header.length;
  let previous = -1;
  for (let k = 0; k < count; k++) {
    const orgId = orgIds[order[k]!]!;
    if (!isValidOrgId(orgId) || orgId <= previous) throw new RangeError(`compact snapshot: org id ${orgId} is invalid or repeated`);
    at = writeVarint(out, at, previous < 0 ? orgId : orgId - previous);
    previous = orgId;
  }
  for (let k = 0; k < count; k++) at = writeVarint(out, at, clusterIndexes[order[k]!]!);
  for (let k = 0; k < count; k++) out[at++] = states[order[k]!]!;
  for (let k = 0; k < count; k++) {
    const epoch = epochs[order[k]!]!;
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`compact snapshot: epoch ${epoch} is not a non-negative integer`);
    at = writeVarint(out, at, epoch);
  }
  const length = at + TRAILER;
  view.setUint32(4, length, true);
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return out.subarray(0, length);
}

/**
 * Decodes and checks a compact snapshot. Throws CorruptSnapshotError when it is truncated,
 * fails its checksum, or breaks any rule of the layout; allocates only the pin columns.
 */
export function decodeCompact(bytes: Uint8Array): CompactConfig {
  if (!isCompact(bytes)) throw new CorruptSnapshotError('it does not start with the compact magic (OPC\\x01)');
  if (bytes.length < FIXED_HEAD + TRAILER) throw new CorruptSnapshotError(`it is truncated (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(4, true);
  if (length !== bytes.length) throw new CorruptSnapshotError(`it says ${length} bytes but ${bytes.length} arrived (truncated or padded)`);
  const end = length - TRAILER;
  if (crc32(bytes.subarray(0, end)) !== view.getUint32(end, true)) throw new CorruptSnapshotError('its CRC-32 does not match');
  const headerLength = view.getUint32(8, true);
  if (FIXED_HEAD + headerLength > end) throw new CorruptSnapshotError('its header runs past the end');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(FIXED_HEAD, FIXED_HEAD + headerLength)));
  } catch (cause) {
    throw new CorruptSnapshotError('its header is not JSON', { cause });
  }
  const { pinCount: count, pinClusters: clusterIds, ...snapshot } = header ?? {};
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new CorruptSnapshotError('its header is not an object');
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0 || count > end) {
    throw new CorruptSnapshotError('its header has no valid pinCount');
  }
  if (!Array.isArray(clusterIds) || clusterIds.length > MAX_CLUSTER_IDS || !clusterIds.every((id) => typeof id === 'string' && id !== '')) {
    throw new CorruptSnapshotError('its header has no valid pinClusters');
  }
  const version = (snapshot as { version?: unknown }).version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new CorruptSnapshotError('its header has no valid version');
  }
  // One pass checks every column without allocating; forEach() reads them again, trusted.
  const columns = { ids: FIXED_HEAD + headerLength, clusters: 0, states: 0, epochs: 0 };
  const cursor = { at: columns.ids };
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const gap = readVarint(bytes, cursor, end, 'org id');
    const orgId = previous < 0 ? gap : previous + gap;
    if ((previous >= 0 && gap === 0) || !isValidOrgId(orgId)) throw new CorruptSnapshotError(`pin ${i} has an invalid or repeated org id`);
    previous = orgId;
  }
  columns.clusters = cursor.at;
  for (let i = 0; i < count; i++) {
    const c = readVarint(bytes, cursor, end, 'cluster index');
    if (c >= clusterIds.length) throw new CorruptSnapshotError(`pin ${i} names cluster index ${c} of ${clusterIds.length}`);
  }
  columns.states = cursor.at;
  if (cursor.at + count > end) throw new CorruptSnapshotError('the state column runs past the end');
  for (let i = 0; i < count; i++) {
    const s = bytes[cursor.at++]!;
    if (s >= PLACEMENT_STATES.length) throw new CorruptSnapshotError(`pin ${i} has state ${s}`);
  }
  columns.epochs = cursor.at;
  for (let i = 0; i < count; i++) readVarint(bytes, cursor, end, 'epoch');
  if (cursor.at !== end) throw new CorruptSnapshotError(`${end - cursor.at} bytes follow the last column`);
  const pins: PinSource = {
    count,
    clusterIds,
    forEach(fn) {
      const ids = { at: columns.ids };
      const clusters = { at: columns.clusters };
      const epochs = { at: columns.epochs };
      let state = columns.states;
      let orgId = -1;
      for (let i = 0; i < count; i++) {
        const gap = readVarint(bytes, ids, end, 'org id');
        orgId = orgId < 0 ? gap : orgId + gap;
        fn(orgId, readVarint(bytes, clusters, end, 'cluster index'), bytes[state++]!, readVarint(bytes, epochs, end, 'epoch'));
      }
    },
  };
  return { snapshot: { ...(snapshot as Omit<ConfigSnapshot, 'placements'>), placements: [] }, pins };
}

/** The pins as wire objects (one object per pin: for tests and tools, not the runtime's load path). */
export function placementsOf(pins: PinSource): WirePlacement[] {
  const out: WirePlacement[] = [];
  pins.forEach((orgId, cluster, state, epoch) => {
    out.push({ orgId, clusterId: pins.clusterIds[cluster]!, state: PLACEMENT_STATES[state]!, epoch });
  });
  return out;
}

/** Indexes 0..count-1 ordered by org id (the identity when they already are). */
function sortedOrder(orgIds: Float64Array, count: number): Uint32Array {
  const order = new Uint32Array(count);
  let sorted = true;
  for (let i = 0; i < count; i++) {
    order[i] = i;
    if (i > 0 && orgIds[i - 1]! > orgIds[i]!) sorted = false;
  }
  if (!sorted) order.sort((a, b) => orgIds[a]! - orgIds[b]!);
  return order;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

function readVarint(bytes: Uint8Array, cursor: { at: number }, end: number, what: string): number {
  let value = 0;
  let scale = 1;
  for (let n = 0; n < MAX_VARINT_BYTES; n++) {
    if (cursor.at >= end) throw new CorruptSnapshotError(`the ${what} column runs past the end`);
    const b = bytes[cursor.at++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(value)) break;
      return value;
    }
    scale *= 0x80;
  }
  throw new CorruptSnapshotError(`a ${what} varint is longer than ${MAX_VARINT_BYTES} bytes or too large`);
}
