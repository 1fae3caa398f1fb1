// At most `max` large bodies in flight at once. Beyond it a route answers 503 with
// Retry-After, so that a fleet reconnecting at once queues on its own side (with jitter)
// instead of in this process's memory.

export class SendLimiter {
  private active = 0;

  constructor(
    readonly max: number,
    /** What a refused request is told to wait (Retry-After, seconds). */
    readonly retryAfterSeconds = 1,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  /** A release function (safe to call more than once), or null when every slot is taken. */
  tryAcquire(): (() => void) | null {
    if (this.active >= this.max) return null;
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
    };
  }
}
