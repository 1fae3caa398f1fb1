// Rollout flags keyed by org id. `isEnabled()` is on request paths: a Map probe, the org
// id's digits written into a buffer made when the rollout was applied, murmur3 over those
// bytes, and a binary search of the pilot cohort. No allocation, no I/O.
//
// The rule (wire.ts, WireRollout) is Unleash's flexibleRollout with stickiness on the org
// id, so an official Unleash SDK reading the control plane's Unleash client API decides
// exactly the same way.

import { RuntimeError } from './errors.js';
import {
  type ConfigDelta,
  GROUP_ID_MAX_LENGTH,
  GROUP_ID_PATTERN,
  isValidOrgId,
  PERCENT_MAX,
  PERCENT_MIN,
  type WireCohort,
  type WireRollout,
} from './wire.js';

const c1 = 0xcc9e2d51;
const c2 = 0x1b873593;
/** Unleash's flexibleRollout seed for strategies (variants use another one). */
const STRATEGY_SEED = 0;
/** Digits of Number.MAX_SAFE_INTEGER. */
const MAX_ORG_ID_DIGITS = 16;
const GROUP_ID = new RegExp(GROUP_ID_PATTERN);

/**
 * MurmurHash3, x86 32-bit variant, over `bytes[0..length)`; an unsigned 32-bit integer.
 * The same function Unleash SDKs use (murmurhash3js `x86.hash32` on ASCII text).
 */
export function murmur3_x86_32(bytes: Uint8Array, length: number = bytes.length, seed = 0): number {
  return murmur3Continue(bytes, 0, length, seed | 0);
}

/**
 * murmur3_x86_32 of `bytes[0..length)` given `state`, the hash state after the 4-byte
 * blocks before `from` (a multiple of 4): a rollout hashes its groupId prefix once.
 */
function murmur3Continue(bytes: Uint8Array, from: number, length: number, state: number): number {
  const tail = length & ~3;
  return finish(bytes, tail, length, blocks(bytes, from, tail, state));
}

/** The hash state after mixing the 4-byte blocks of `bytes[from..end)`. */
function blocks(bytes: Uint8Array, from: number, end: number, state: number): number {
  let h = state;
  for (let i = from; i < end; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return h;
}

function finish(bytes: Uint8Array, i: number, length: number, state: number): number {
  let h = state;
  const rest = length & 3;
  if (rest > 0) {
    let k = bytes[i]!;
    if (rest > 1) k |= bytes[i + 1]! << 8;
    if (rest > 2) k |= bytes[i + 2]! << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unleash's normalised bucket 1..100 of `${groupId}:${orgId}` (allocates; tests and tools). */
export function rolloutBucket(groupId: string, orgId: number): number {
  const bytes = Buffer.from(`${groupId}:${orgId}`, 'latin1');
  return (murmur3_x86_32(bytes, bytes.length, STRATEGY_SEED) % 100) + 1;
}

/** One rollout, ready to evaluate. */
interface CompiledRollout {
  readonly wire: WireRollout;
  readonly enabled: boolean;
  readonly percent: number;
  /** murmur3 state after the prefix's whole 4-byte blocks, and where those end. */
  readonly prefixState: number;
  readonly prefixBlocks: number;
  /** `${groupId}:` followed by room for the org id's digits. */
  readonly key: Uint8Array;
  readonly prefixLength: number;
  /** The pilot's org ids, sorted; empty when there is no pilot (or its cohort is unknown). */
  readonly pilot: Float64Array;
}

const EMPTY = new Float64Array(0);
/** FlagSet.decide()'s answer for a flag the config does not describe. */
export const UNKNOWN_FLAG = -1;
/** FlagSet.decide()'s answer for a known flag asked about an org id the shard map could not hold. */
export const INVALID_ORG_ID = -2;

/**
 * The rollouts and pilot cohorts of one config version. Immutable: applying a delta
 * builds a new set (validating everything first), so an invalid change changes nothing,
 * and the runtime swaps sets only once the whole change applied.
 */
export class FlagSet {
  static readonly EMPTY = new FlagSet(new Map(), new Map());

  private constructor(
    private readonly byFlag: ReadonlyMap<string, CompiledRollout>,
    private readonly cohortsByName: ReadonlyMap<string, Float64Array>,
  ) {}

  /** The flags of a snapshot; throws INVALID_CONFIG and builds nothing when one is invalid. */
  static fromSnapshot(rollouts: readonly WireRollout[] | undefined, cohorts: readonly WireCohort[] | undefined): FlagSet {
    const cohortMap = new Map<string, Float64Array>();
    for (const cohort of validateCohorts(cohorts ?? [])) cohortMap.set(cohort.name, cohort.orgIds);
    return new FlagSet(compileRollouts(validateRollouts(rollouts ?? []), cohortMap), cohortMap);
  }

  /** This set with the delta's rollouts and cohorts applied; `this` when it touches neither. */
  applyDelta(delta: Pick<ConfigDelta, 'rollouts' | 'cohorts'>): FlagSet {
    if (delta.rollouts === undefined && delta.cohorts === undefined) return this;
    let cohortMap = this.cohortsByName as Map<string, Float64Array>;
    if (delta.cohorts !== undefined) {
      const { upsert, remove } = delta.cohorts ?? {};
      if (!Array.isArray(upsert) || !Array.isArray(remove)) throw invalid('cohorts must be {upsert: [], remove: []}');
      for (const name of remove) if (typeof name !== 'string') throw invalid('cohorts.remove holds a non-string');
      const upserted = validateCohorts(upsert);
      cohortMap = new Map(cohortMap);
      for (const name of remove) cohortMap.delete(name);
      for (const cohort of upserted) cohortMap.set(cohort.name, cohort.orgIds);
    }
    const rollouts = delta.rollouts === undefined ? this.rollouts() : validateRollouts(delta.rollouts);
    return new FlagSet(compileRollouts(rollouts, cohortMap), cohortMap);
  }

  /**
   * Whether `flag` is on for `orgId`; `fallback` when the flag is unknown or the org id is
   * one the shard map could not hold. Never throws.
   */
  isEnabled(flag: string, orgId: number, fallback = false): boolean {
    const decision = this.decide(flag, orgId);
    return decision < 0 ? fallback : decision === 1;
  }

  /**
   * 1 (on), 0 (off), UNKNOWN_FLAG or INVALID_ORG_ID: one Map probe, no throw, so callers
   * can count fallbacks and errors without a try on the request path.
   */
  decide(flag: string, orgId: number): number {
    const rollout = this.byFlag.get(flag);
    if (rollout === undefined) return UNKNOWN_FLAG;
    if (!isValidOrgId(orgId)) return INVALID_ORG_ID;
    if (!rollout.enabled) return 0;
    if (rollout.pilot.length > 0 && contains(rollout.pilot, orgId)) return 1;
    const percent = rollout.percent;
    if (percent <= 0) return 0;
    if (percent >= 100) return 1;
    const length = writeDigits(rollout.key, rollout.prefixLength, orgId);
    return (murmur3Continue(rollout.key, rollout.prefixBlocks, length, rollout.prefixState) % 100) + 1 <= percent ? 1 : 0;
  }

  /** True when the config describes `flag`. */
  has(flag: string): boolean {
    return this.byFlag.has(flag);
  }

  /** The rollouts as on the wire (validated copies), in the order received. */
  rollouts(): WireRollout[] {
    return [...this.byFlag.values()].map((r) => r.wire);
  }

  /** The cohorts as on the wire; allocates one array per cohort (disk cache, debugging). */
  cohorts(): WireCohort[] {
    return [...this.cohortsByName].map(([name, orgIds]) => ({ name, orgIds: Array.from(orgIds) }));
  }
}

/** Writes `orgId` in decimal at `key[at..]`; returns the key's length. */
function writeDigits(key: Uint8Array, at: number, orgId: number): number {
  // Split at 10^8 so both halves are small integers: int arithmetic, not double fmod.
  const high = Math.floor(orgId / 1e8);
  let low = orgId - high * 1e8;
  let end: number;
  if (high === 0) {
    end = at + digitCount(low);
  } else {
    let h = high;
    end = at + digitCount(h) + 8;
    let p = end - 8;
    while (h > 0) {
      const q = (h / 10) | 0;
      key[--p] = 48 + h - q * 10;
      h = q;
    }
  }
  let p = end;
  const stop = high === 0 ? at : end - 8;
  do {
    const q = (low / 10) | 0;
    key[--p] = 48 + low - q * 10;
    low = q;
  } while (p > stop);
  return end;
}

function digitCount(n: number): number {
  let count = 1;
  while (n >= 10) {
    n = (n / 10) | 0;
    count++;
  }
  return count;
}

function contains(sorted: Float64Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v < value) lo = mid + 1;
    else if (v > value) hi = mid - 1;
    else return true;
  }
  return false;
}

function compileRollouts(rollouts: readonly WireRollout[], cohorts: ReadonlyMap<string, Float64Array>): Map<string, CompiledRollout> {
  const out = new Map<string, CompiledRollout>();
  for (const wire of rollouts) {
    const prefix = `${wire.groupId}:`;
    const key = new Uint8Array(prefix.length + MAX_ORG_ID_DIGITS);
    for (let i = 0; i < prefix.length; i++) key[i] = prefix.charCodeAt(i);
    const pilot = wire.pilotCohort === null ? EMPTY : (cohorts.get(wire.pilotCohort) ?? EMPTY);
    const prefixBlocks = prefix.length & ~3;
    out.set(wire.flag, {
      wire,
      enabled: wire.enabled,
      percent: wire.percent,
      prefixState: blocks(key, 0, prefixBlocks, STRATEGY_SEED),
      prefixBlocks,
      key,
      prefixLength: prefix.length,
      pilot,
    });
  }
  return out;
}

/** Validated copies; an empty or missing groupId becomes the flag name, as in Unleash. */
function validateRollouts(rollouts: readonly WireRollout[]): WireRollout[] {
  if (!Array.isArray(rollouts)) throw invalid('rollouts must be an array');
  const seen = new Set<string>();
  return rollouts.map((r) => {
    if (typeof r?.flag !== 'string' || r.flag === '') throw invalid('a rollout has no flag name');
    if (seen.has(r.flag)) throw invalid(`rollout ${r.flag} appears twice`);
    seen.add(r.flag);
    const groupId = r.groupId === undefined || r.groupId === null || r.groupId === '' ? r.flag : r.groupId;
    if (typeof groupId !== 'string' || !GROUP_ID.test(groupId)) {
      throw invalid(`rollout ${r.flag}: groupId must be 1..${GROUP_ID_MAX_LENGTH} characters of [A-Za-z0-9._:-]`);
    }
    if (typeof r.enabled !== 'boolean') throw invalid(`rollout ${r.flag}: enabled must be a boolean`);
    if (!Number.isInteger(r.percent) || r.percent < PERCENT_MIN || r.percent > PERCENT_MAX) {
      throw invalid(`rollout ${r.flag}: percent must be an integer in 0..100, not ${String(r.percent)}`);
    }
    const pilot = r.pilotCohort ?? null;
    if (pilot !== null && (typeof pilot !== 'string' || pilot === ''))
      throw invalid(`rollout ${r.flag}: pilotCohort must be a name or null`);
    return { flag: r.flag, groupId, enabled: r.enabled, percent: r.percent, pilotCohort: pilot };
  });
}

/** Cohorts with their org ids in a sorted Float64Array (the wire promises sorted; we do not rely on it). */
function validateCohorts(cohorts: readonly WireCohort[]): { name: string; orgIds: Float64Array }[] {
  if (!Array.isArray(cohorts)) throw invalid('cohorts must be an array');
  return cohorts.map((c) => {
    if (typeof c?.name !== 'string' || c.name === '') throw invalid('a cohort has no name');
    if (!Array.isArray(c.orgIds)) throw invalid(`cohort ${c.name}: orgIds must be an array`);
    const orgIds = new Float64Array(c.orgIds.length);
    let sorted = true;
    for (let i = 0; i < orgIds.length; i++) {
      const orgId = c.orgIds[i];
      if (!isValidOrgId(orgId)) throw invalid(`cohort ${c.name} holds an invalid org id ${String(orgId)}`);
      orgIds[i] = orgId;
      if (i > 0 && orgId < orgIds[i - 1]!) sorted = false;
    }
    if (!sorted) orgIds.sort();
    return { name: c.name, orgIds };
  });
}

function invalid(message: string): RuntimeError {
  return new RuntimeError('INVALID_CONFIG', `invalid config: ${message}`);
}
