export interface SleepOptions {
  /** Wakes the sleep early; it then resolves false. */
  signal?: AbortSignal;
  /** Let the process exit while sleeping (background loops). Default false. */
  unref?: boolean;
}

/**
 * Waits `ms` milliseconds. Resolves true when the time passed, false when `signal` aborted
 * (at once if it already had); never rejects, so a loop reads `if (!(await sleep(...))) return`.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<boolean> {
  const { signal, unref = false } = options;
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    if (unref) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
