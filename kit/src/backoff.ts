export interface BackoffOptions {
  /** The ceiling of the first wait (attempt 0). */
  baseMs: number;
  /** No wait is longer than this. */
  capMs: number;
  /** A [0, 1) source; Math.random when omitted (tests pass their own). */
  random?: () => number;
  /**
   * 'full' (default): uniform in [0, ceiling), for many clients that failed together.
   * 'equal': uniform in [ceiling / 2, ceiling), for one worker whose retry must really
   * wait (a fence that just missed its deadline, a move step that just failed).
   */
  jitter?: 'full' | 'equal';
}

/** Past 2^30 the ceiling is the cap for any sane base; stops 2 ** attempt from overflowing. */
const MAX_DOUBLINGS = 30;

/**
 * Exponential backoff with jitter (AWS architecture blog, "Exponential Backoff and
 * Jitter"): by default full, uniform in [0, min(capMs, baseMs * 2^attempt)). `attempt` counts from 0;
 * negative or fractional attempts count as the integer below (at least 0). Full jitter
 * spreads the retries of many clients that failed together, which is the point.
 */
export function backoffMs(attempt: number, options: BackoffOptions): number {
  const { baseMs, capMs, random = Math.random, jitter = 'full' } = options;
  if (!(baseMs >= 0) || !(capMs >= 0)) throw new RangeError(`backoffMs: baseMs and capMs must be >= 0, not ${baseMs} and ${capMs}`);
  const doublings = Math.min(MAX_DOUBLINGS, Math.max(0, Math.floor(Number.isFinite(attempt) ? attempt : MAX_DOUBLINGS)));
  const ceiling = Math.min(capMs, baseMs * 2 ** doublings);
  return jitter === 'equal' ? ceiling / 2 + (random() * ceiling) / 2 : random() * ceiling;
}
