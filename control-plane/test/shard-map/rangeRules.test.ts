import type { WireRange } from '@orgplane/runtime/wire';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { assignSpan, mergeSpan, reroutedSpans, splitAt, validateCover } from '../../src/features/shard-map/rangeRules.js';
import { thrownBy } from '../thrownBy.js';

const MAX = Number.MAX_SAFE_INTEGER;
const three: WireRange[] = [
  { lo: 0, hi: 999, clusterId: 'a' },
  { lo: 1000, hi: 4999, clusterId: 'b' },
  { lo: 5000, hi: MAX, clusterId: 'b' },
];

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return `${err.code}${err.hint ? ` | ${err.hint}` : ''}`;
    throw err;
  }
  return 'no error';
}

describe('validateCover', () => {
  it('sorts a valid map', () => {
    expect(validateCover([three[2]!, three[0]!, three[1]!])).toEqual(three);
  });

  it.each([
    ['empty', []],
    [
      'gap in the middle',
      [
        { lo: 0, hi: 10, clusterId: 'a' },
        { lo: 12, hi: MAX, clusterId: 'a' },
      ],
    ],
    [
      'overlap',
      [
        { lo: 0, hi: 10, clusterId: 'a' },
        { lo: 10, hi: MAX, clusterId: 'a' },
      ],
    ],
    [
      'duplicate lo',
      [
        { lo: 0, hi: MAX, clusterId: 'a' },
        { lo: 0, hi: MAX, clusterId: 'b' },
      ],
    ],
    ['does not start at 0', [{ lo: 1, hi: MAX, clusterId: 'a' }]],
    ['does not reach 2^53-1', [{ lo: 0, hi: MAX - 1, clusterId: 'a' }]],
    [
      'lo > hi',
      [
        { lo: 0, hi: 10, clusterId: 'a' },
        { lo: 20, hi: 11, clusterId: 'a' },
        { lo: 11, hi: MAX, clusterId: 'a' },
      ],
    ],
  ])('refuses %s with INVALID_RANGES', (_name, ranges) => {
    expect(codeOf(() => validateCover(ranges))).toMatch(/^INVALID_RANGES/);
  });

  it('names the uncovered ids of a gap', () => {
    const err = thrownBy(() =>
      validateCover([
        { lo: 0, hi: 10, clusterId: 'a' },
        { lo: 21, hi: MAX, clusterId: 'a' },
      ]),
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).details).toEqual({ problem: 'gap', lo: 11, hi: 20 });
  });
});

describe('splitAt', () => {
  it('cuts the range holding `at` into [lo, at-1] and [at, hi] on the same cluster', () => {
    expect(splitAt(three, 2500)).toEqual([
      { lo: 0, hi: 999, clusterId: 'a' },
      { lo: 1000, hi: 2499, clusterId: 'b' },
      { lo: 2500, hi: 4999, clusterId: 'b' },
      { lo: 5000, hi: MAX, clusterId: 'b' },
    ]);
  });

  it('splits at the last id of a range', () => {
    expect(splitAt(three, 999).slice(0, 2)).toEqual([
      { lo: 0, hi: 998, clusterId: 'a' },
      { lo: 999, hi: 999, clusterId: 'a' },
    ]);
  });

  it('splits the top range at 2^53-1', () => {
    expect(splitAt(three, MAX).slice(-2)).toEqual([
      { lo: 5000, hi: MAX - 1, clusterId: 'b' },
      { lo: MAX, hi: MAX, clusterId: 'b' },
    ]);
  });

  it('refuses `at` equal to a range start (nothing to split)', () => {
    expect(codeOf(() => splitAt(three, 1000))).toMatch(/^INVALID_INPUT/);
    expect(codeOf(() => splitAt(three, 0))).toMatch(/^INVALID_INPUT/);
  });

  it('refuses an empty map with RANGE_NOT_FOUND', () => {
    expect(codeOf(() => splitAt([], 5))).toMatch(/^RANGE_NOT_FOUND/);
  });
});

describe('assignSpan', () => {
  it('moves every range in [lo, hi] and nothing else', () => {
    expect(assignSpan(three, 1000, MAX, 'c')).toEqual([
      { lo: 0, hi: 999, clusterId: 'a' },
      { lo: 1000, hi: 4999, clusterId: 'c' },
      { lo: 5000, hi: MAX, clusterId: 'c' },
    ]);
  });

  it('tells the caller where to split when lo does not start a range', () => {
    expect(codeOf(() => assignSpan(three, 1500, 4999, 'c'))).toBe('INVALID_RANGES | split first at 1500');
  });

  it('tells the caller where to split when hi does not end a range', () => {
    expect(codeOf(() => assignSpan(three, 1000, 3000, 'c'))).toBe('INVALID_RANGES | split first at 3001');
  });

  it('refuses lo > hi', () => {
    expect(codeOf(() => assignSpan(three, 5000, 1000, 'c'))).toMatch(/^INVALID_INPUT/);
  });
});

describe('mergeSpan', () => {
  it('joins adjacent ranges on one cluster', () => {
    expect(mergeSpan(three, 1000, MAX)).toEqual([
      { lo: 0, hi: 999, clusterId: 'a' },
      { lo: 1000, hi: MAX, clusterId: 'b' },
    ]);
  });

  it('refuses ranges on different clusters', () => {
    expect(codeOf(() => mergeSpan(three, 0, 4999))).toMatch(/^INVALID_RANGES \| only ranges on one cluster merge/);
  });

  it('refuses a single range and unaligned bounds', () => {
    expect(codeOf(() => mergeSpan(three, 1000, 4999))).toMatch(/^INVALID_RANGES/);
    expect(codeOf(() => mergeSpan(three, 1001, MAX))).toBe('INVALID_RANGES | split first at 1001');
  });
});

describe('reroutedSpans', () => {
  it('finds nothing where only the boundaries change (split, merge)', () => {
    expect(reroutedSpans(three, splitAt(three, 2000))).toEqual([]);
    expect(reroutedSpans(three, mergeSpan(three, 1000, MAX))).toEqual([]);
    expect(reroutedSpans(three, three)).toEqual([]);
  });

  it('finds the assigned ranges, joining adjacent spans between the same clusters', () => {
    expect(reroutedSpans(three, assignSpan(three, 1000, MAX, 'c'))).toEqual([{ lo: 1000, hi: MAX, from: 'b', to: 'c' }]);
    expect(reroutedSpans(three, assignSpan(three, 0, 999, 'b'))).toEqual([{ lo: 0, hi: 999, from: 'a', to: 'b' }]);
  });

  it('compares maps with different boundaries span by span', () => {
    const next: WireRange[] = [
      { lo: 0, hi: 499, clusterId: 'a' },
      { lo: 500, hi: 2999, clusterId: 'c' },
      { lo: 3000, hi: MAX, clusterId: 'b' },
    ];
    expect(reroutedSpans(three, next)).toEqual([
      { lo: 500, hi: 999, from: 'a', to: 'c' },
      { lo: 1000, hi: 2999, from: 'b', to: 'c' },
    ]);
    // And back: the same spans the other way.
    expect(reroutedSpans(next, three)).toEqual([
      { lo: 500, hi: 999, from: 'c', to: 'a' },
      { lo: 1000, hi: 2999, from: 'c', to: 'b' },
    ]);
  });

  it('keeps apart spans that are not adjacent', () => {
    const next: WireRange[] = [
      { lo: 0, hi: 9, clusterId: 'c' },
      { lo: 10, hi: 999, clusterId: 'a' },
      { lo: 1000, hi: 1009, clusterId: 'a' },
      { lo: 1010, hi: MAX, clusterId: 'b' },
    ];
    expect(reroutedSpans(three, next)).toEqual([
      { lo: 0, hi: 9, from: 'a', to: 'c' },
      { lo: 1000, hi: 1009, from: 'b', to: 'a' },
    ]);
  });
});
