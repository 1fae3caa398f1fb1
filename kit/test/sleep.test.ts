import { afterEach, describe, expect, it, vi } from 'vitest';
import { sleep } from '../src/sleep.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('sleep', () => {
  it('resolves true once the time has passed, not before', async () => {
    vi.useFakeTimers();
    let done: boolean | undefined;
    const p = sleep(1000).then((v) => {
      done = v;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('resolves false as soon as the signal aborts, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const p = sleep(60_000, { signal: controller.signal });
    expect(vi.getTimerCount()).toBe(1);
    controller.abort();
    await expect(p).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves false at once for a signal that already aborted', async () => {
    vi.useFakeTimers();
    await expect(sleep(60_000, { signal: AbortSignal.abort() })).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('unref lets the process exit while it sleeps; by default the timer holds it', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const controller = new AbortController();
      const background = sleep(60_000, { unref: true, signal: controller.signal });
      const foreground = sleep(60_000, { signal: controller.signal });
      const [unrefd, held] = spy.mock.results.map((r) => r.value as NodeJS.Timeout);
      expect(unrefd?.hasRef()).toBe(false);
      expect(held?.hasRef()).toBe(true);
      controller.abort();
      await expect(Promise.all([background, foreground])).resolves.toEqual([false, false]);
    } finally {
      spy.mockRestore();
    }
  });
});
