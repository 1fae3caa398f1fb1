// The loop of every background worker that runs on the leader (the gate worker, the
// replica-health checker): a round every `intervalMs`, never two at once (a slow round
// skips the ticks it overlaps), and a stop that waits for the round in flight.
export class Ticker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly intervalMs: number,
    private readonly round: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** True once stop() was called: a round checks it between steps. */
  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    if (this.timer || this.stopping) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  /** One round now, or the one in flight. Never rejects. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    if (this.stopping) return Promise.resolve();
    this.running = this.round()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
