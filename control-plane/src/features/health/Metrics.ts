// Defined once, with help text and bounded labels; per-request work is one observe().
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface HubState {
  readonly version: number;
  readonly watcherCount: number;
  readonly connected: boolean;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export class Metrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'route' | 'method' | 'status_code'>;
  private readonly errors: Counter<'code'>;
  private readonly notifyLag: Histogram;

  constructor(hub: () => HubState | null) {
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
}
