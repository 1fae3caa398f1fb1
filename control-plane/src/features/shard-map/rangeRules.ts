// Pure shard-map arithmetic. Every function takes a complete, valid map (sorted,
// covering 0..ORG_ID_MAX) and returns a new one, or throws a named error.
import { ORG_ID_MAX, ORG_ID_MIN, type WireRange } from '@orgplane/runtime/wire';
import { InvalidInputError, InvalidRangesError, RangeNotAlignedError, RangeNotFoundError, RangeSpansClustersError } from '../../errors.js';

const EMPTY_MAP_HINT = 'set the whole map first with PUT /v1/shard-map/ranges';

/** Sort and check that ranges cover ORG_ID_MIN..ORG_ID_MAX exactly once. */
export function validateCover(ranges: readonly WireRange[]): WireRange[] {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo);
  if (sorted.length === 0) {
    throw new InvalidRangesError(`the map is empty: ranges must cover ${ORG_ID_MIN}..${ORG_ID_MAX}`, {
      hint: `send at least one range, for example [{"lo":0,"hi":${ORG_ID_MAX},"clusterId":"primary-1"}]`,
    });
  }
  for (const r of sorted) {
    if (r.lo > r.hi) {
      throw new InvalidRangesError(`range [${r.lo}, ${r.hi}] ends before it starts`, {
        hint: 'write every range as lo <= hi',
        details: { range: r },
      });
    }
  }
  const first = sorted[0]!;
  if (first.lo !== ORG_ID_MIN) {
    throw new InvalidRangesError(`org ids ${ORG_ID_MIN}..${first.lo - 1} are not covered`, {
      hint: `start the first range at ${ORG_ID_MIN}`,
      details: { problem: 'gap', lo: ORG_ID_MIN, hi: first.lo - 1 },
    });
  }
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const next = sorted[i]!;
    if (next.lo <= prev.hi) {
      throw new InvalidRangesError(`ranges [${prev.lo}, ${prev.hi}] and [${next.lo}, ${next.hi}] overlap`, {
        hint: 'every org id must be in exactly one range',
        details: { problem: 'overlap', ranges: [prev, next] },
      });
    }
    if (next.lo !== prev.hi + 1) {
      throw new InvalidRangesError(`org ids ${prev.hi + 1}..${next.lo - 1} are not covered`, {
        hint: `start the range after [${prev.lo}, ${prev.hi}] at ${prev.hi + 1}`,
        details: { problem: 'gap', lo: prev.hi + 1, hi: next.lo - 1 },
      });
    }
  }
  const last = sorted[sorted.length - 1]!;
  if (last.hi !== ORG_ID_MAX) {
    throw new InvalidRangesError(`org ids ${last.hi + 1}..${ORG_ID_MAX} are not covered`, {
      hint: `end the last range at ${ORG_ID_MAX} (2^53-1)`,
      details: { problem: 'gap', lo: last.hi + 1, hi: ORG_ID_MAX },
    });
  }
  return sorted;
}

function indexContaining(ranges: readonly WireRange[], orgId: number): number {
  if (ranges.length === 0) throw new RangeNotFoundError('the shard map has no ranges', { hint: EMPTY_MAP_HINT });
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ranges[mid]!.lo <= orgId) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The range holding `at` becomes [lo, at-1] and [at, hi], both on its cluster. */
export function splitAt(ranges: readonly WireRange[], at: number): WireRange[] {
  const i = indexContaining(ranges, at);
  const range = ranges[i]!;
  if (at === range.lo) {
    throw new InvalidInputError(`${at} already starts a range ([${range.lo}, ${range.hi}])`, {
      hint: 'split at an org id inside a range, greater than its lo',
      details: [{ field: 'at', message: `must be greater than ${range.lo}` }],
    });
  }
  return [...ranges.slice(0, i), { ...range, hi: at - 1 }, { ...range, lo: at }, ...ranges.slice(i + 1)];
}

/** Where [lo, hi] misses the map's range bounds: `at` falls inside `range` instead of starting (lo) or ending (hi) it. */
type Misaligned = (edge: 'lo' | 'hi', at: number, range: WireRange) => Error;

const misalignedRanges: Misaligned = (edge, at, range) =>
  new InvalidRangesError(`no range ${edge === 'lo' ? 'starts' : 'ends'} at ${at} (it is inside [${range.lo}, ${range.hi}])`, {
    hint: `split first at ${edge === 'lo' ? at : at + 1}`,
    details: { [edge]: at, range },
  });

/** Indexes of the ranges that exactly make up [lo, hi]; lo must start one, hi end one. */
function alignedSpan(ranges: readonly WireRange[], lo: number, hi: number, misaligned = misalignedRanges): [number, number] {
  if (lo > hi) {
    throw new InvalidInputError(`lo ${lo} is greater than hi ${hi}`, { details: [{ field: 'lo', message: 'must be <= hi' }] });
  }
  const first = indexContaining(ranges, lo);
  const last = indexContaining(ranges, hi);
  if (ranges[first]!.lo !== lo) throw misaligned('lo', lo, ranges[first]!);
  if (ranges[last]!.hi !== hi) throw misaligned('hi', hi, ranges[last]!);
  return [first, last];
}

/** Every range in [lo, hi] moves to `clusterId`. */
export function assignSpan(ranges: readonly WireRange[], lo: number, hi: number, clusterId: string): WireRange[] {
  const [first, last] = alignedSpan(ranges, lo, hi);
  return ranges.map((r, i) => (i >= first && i <= last ? { ...r, clusterId } : r));
}

/** The adjacent ranges making up [lo, hi], all on one cluster, become one. */
export function mergeSpan(ranges: readonly WireRange[], lo: number, hi: number): WireRange[] {
  const [first, last] = alignedSpan(ranges, lo, hi);
  if (first === last) {
    throw new InvalidRangesError(`[${lo}, ${hi}] is a single range already`, { hint: 'give lo of one range and hi of a later one' });
  }
  const span = ranges.slice(first, last + 1);
  const clusterId = span[0]!.clusterId;
  const other = span.find((r) => r.clusterId !== clusterId);
  if (other) {
    throw new InvalidRangesError(`[${lo}, ${hi}] spans clusters ${clusterId} and ${other.clusterId}`, {
      hint: `only ranges on one cluster merge: assign [${other.lo}, ${other.hi}] to ${clusterId} first, or merge a smaller span`,
      details: { ranges: span },
    });
  }
  return [...ranges.slice(0, first), { lo, hi, clusterId }, ...ranges.slice(last + 1)];
}

/**
 * The cluster serving [lo, hi] by its ranges, when the span is what a range move can take:
 * exactly one range, or adjacent ranges all on one cluster (RANGE_NOT_ALIGNED,
 * RANGE_SPANS_CLUSTERS otherwise).
 */
export function rangeMoveSource(ranges: readonly WireRange[], lo: number, hi: number): string {
  if (lo > hi) {
    throw new InvalidInputError(`range.lo ${lo} is greater than range.hi ${hi}`, {
      details: [{ field: 'range', message: 'needs lo <= hi' }],
    });
  }
  const [first, last] = alignedSpan(ranges, lo, hi, (edge, at, range) => {
    const where = edge === 'lo' ? 'starts' : 'ends';
    const split = edge === 'lo' ? at : at + 1;
    const instead = edge === 'lo' ? `[${range.lo}, ...]` : `[..., ${range.hi}]`;
    return new RangeNotAlignedError({ lo, hi }, `no shard-map range ${where} at ${at} (it is inside [${range.lo}, ${range.hi}])`, {
      hint: `split it first (orgplane shards split --at ${split}), or move ${instead}`,
      range,
    });
  });
  const clusters = [...new Set(ranges.slice(first, last + 1).map((r) => r.clusterId))];
  if (clusters.length > 1) throw new RangeSpansClustersError({ lo, hi }, clusters);
  return ranges[first]!.clusterId;
}

/** A span of org ids whose range moves from one cluster to another. */
export interface ReroutedSpan {
  lo: number;
  hi: number;
  from: string;
  to: string;
}

/**
 * Where two complete maps route org ids differently, ignoring placements: the spans, in
 * order, with adjacent spans between the same two clusters joined.
 */
export function reroutedSpans(before: readonly WireRange[], after: readonly WireRange[]): ReroutedSpan[] {
  const spans: ReroutedSpan[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length && j < after.length) {
    const b = before[i]!;
    const a = after[j]!;
    const lo = Math.max(b.lo, a.lo);
    const hi = Math.min(b.hi, a.hi);
    if (lo <= hi && b.clusterId !== a.clusterId) {
      const last = spans[spans.length - 1];
      if (last && last.hi + 1 === lo && last.from === b.clusterId && last.to === a.clusterId) last.hi = hi;
      else spans.push({ lo, hi, from: b.clusterId, to: a.clusterId });
    }
    if (b.hi <= a.hi) i++;
    else j++;
  }
  return spans;
}
