// Defined once, with help text and bounded labels; per-request work is one observe().
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface HubState {
  readonly version: number;
  readonly watcherCount: number;
  readonly connected: boolean;
}

/** What the move gauges read, at scrape time, from the control DB. */
export interface MoveStats {
  countByState(): Promise<Map<string, number>>;
  pendingChanges(): Promise<number>;
}

export type CutoverOutcome = 'flipped' | 'deadline' | 'mismatch';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export class Metrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'route' | 'method' | 'status_code'>;
  private readonly errors: Counter<'code'>;
  private readonly notifyLag: Histogram;
  private readonly moveRows: Counter;
  private readonly moveBytes: Counter;
  private readonly fenceWindowSeconds: Histogram<'outcome'>;
  private moveStats: MoveStats | null = null;

  /** `moveStates`: every state the orgplane_moves gauge reports (0 when none). */
  constructor(hub: () => HubState | null, moveStates: readonly string[] = []) {
    const registers = [this.registry];
    this.httpDuration = new Histogram({
      name: 'orgplane_http_request_duration_seconds',
      help: 'HTTP request duration by route pattern, method and status code',
      labelNames: ['route', 'method', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.errors = new Counter({
      name: 'orgplane_http_errors_total',
      help: 'Error responses by error code (INVALID_INPUT, VERSION_CONFLICT, INTERNAL, ...)',
      labelNames: ['code'],
      registers,
    });
    this.notifyLag = new Histogram({
      name: 'orgplane_config_notify_lag_seconds',
      help: 'Time from the start of the transaction that wrote a config version to its fan-out on this instance (DB clock)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'orgplane_config_version',
      help: 'The newest config version this instance has fanned out to its watchers',
      registers,
      collect() {
        const state = hub();
        if (state) this.set(state.version);
      },
    });
    new Gauge({
      name: 'orgplane_config_watchers',
      help: 'Open /v1/config/watch streams on this instance',
      registers,
      collect() {
        this.set(hub()?.watcherCount ?? 0);
      },
    });
    new Gauge({
      name: 'orgplane_config_listen_connected',
      help: '1 while the LISTEN connection on orgplane_config is up',
      registers,
      collect() {
        this.set(hub()?.connected ? 1 : 0);
      },
    });
    this.moveRows = new Counter({
      name: 'orgplane_move_rows_copied_total',
      help: 'Rows bulk-copied by org moves run on this instance',
      registers,
    });
    this.moveBytes = new Counter({
      name: 'orgplane_move_bytes_copied_total',
      help: 'Bytes of COPY data bulk-copied by org moves run on this instance',
      registers,
    });
    this.fenceWindowSeconds = new Histogram({
      name: 'orgplane_move_fence_window_seconds',
      help: "How long each cutover held the org's writes (fence to release), by outcome (flipped, deadline, mismatch)",
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5],
      registers,
    });
    const stats = () => this.moveStats;
    new Gauge({
      name: 'orgplane_moves',
      help: 'Org moves by state (from the control DB)',
      labelNames: ['state'],
      registers,
      async collect() {
        const source = stats();
        if (!source) return;
        const counts = await source.countByState();
        for (const state of new Set([...moveStates, ...counts.keys()])) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'orgplane_move_catchup_pending_changes',
      help: 'Captured changes not yet replayed on the target, summed over moves catching up or cutting over',
      registers,
      async collect() {
        const source = stats();
        if (source) this.set(await source.pendingChanges());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'orgplane_control_plane_' });
  }

  observeRequest(route: string | undefined, method: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe(
      { route: route ?? 'unmatched', method: METHODS.has(method) ? method : 'OTHER', status_code: String(statusCode) },
      seconds,
    );
  }

  countError(code: string): void {
    this.errors.inc({ code });
  }

  observeNotifyLag(seconds: number): void {
    this.notifyLag.observe(Math.max(0, seconds));
  }

  /** Where the move gauges read from (the control DB's moves). */
  watchMoves(stats: MoveStats): void {
    this.moveStats = stats;
  }

  rowsCopied(rows: number): void {
    if (rows > 0) this.moveRows.inc(rows);
  }

  bytesCopied(bytes: number): void {
    if (bytes > 0) this.moveBytes.inc(bytes);
  }

  fenceWindow(seconds: number, outcome: CutoverOutcome): void {
    this.fenceWindowSeconds.observe({ outcome }, Math.max(0, seconds));
  }
}
