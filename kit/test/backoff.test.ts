import { describe, expect, it } from 'vitest';
import { backoffMs } from '../src/backoff.js';

const top = () => 0.999999;
const bottom = () => 0;

describe('backoffMs', () => {
  it('is uniform below base * 2^attempt: random() scales the ceiling', () => {
    expect(backoffMs(0, { baseMs: 100, capMs: 10_000, random: () => 0.5 })).toBe(50);
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: () => 0.5 })).toBe(400);
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: bottom })).toBe(0);
  });

  it('never reaches the ceiling and never exceeds the cap', () => {
    for (let attempt = 0; attempt < 80; attempt++) {
      const ms = backoffMs(attempt, { baseMs: 100, capMs: 30_000, random: top });
      expect(ms).toBeLessThan(Math.min(30_000, 100 * 2 ** attempt));
      expect(ms).toBeGreaterThanOrEqual(0);
    }
    expect(backoffMs(1000, { baseMs: 100, capMs: 30_000, random: top })).toBeCloseTo(30_000, 0);
  });

  it('stays finite for absurd attempts and treats negative ones as the first', () => {
    expect(backoffMs(Number.POSITIVE_INFINITY, { baseMs: 1, capMs: 500, random: () => 0.5 })).toBe(250);
    expect(backoffMs(-4, { baseMs: 100, capMs: 500, random: () => 0.5 })).toBe(50);
    expect(backoffMs(2.7, { baseMs: 100, capMs: 10_000, random: () => 0.5 })).toBe(200);
  });

  it('spreads real jitter over the whole range (Math.random by default)', () => {
    const samples = Array.from({ length: 2000 }, () => backoffMs(4, { baseMs: 10, capMs: 1000 }));
    expect(Math.min(...samples)).toBeLessThan(16);
    expect(Math.max(...samples)).toBeGreaterThan(144);
    expect(Math.max(...samples)).toBeLessThan(160);
  });

  it('equal jitter waits at least half the ceiling, and still below it', () => {
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: bottom, jitter: 'equal' })).toBe(400);
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: () => 0.5, jitter: 'equal' })).toBe(600);
    expect(backoffMs(3, { baseMs: 100, capMs: 10_000, random: top, jitter: 'equal' })).toBeLessThan(800);
    expect(backoffMs(20, { baseMs: 100, capMs: 1000, random: bottom, jitter: 'equal' })).toBe(500);
  });

  it('refuses a negative or missing base or cap', () => {
    expect(() => backoffMs(1, { baseMs: -1, capMs: 10 })).toThrow(RangeError);
    expect(() => backoffMs(1, { baseMs: 1, capMs: Number.NaN })).toThrow(RangeError);
  });
});
