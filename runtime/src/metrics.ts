// Runtime metrics, registered once on the host's registry. State is read at scrape time
// (collect), so nothing here runs per route() call.

import { Counter, Gauge, type Registry } from 'prom-client';

export type ConfigSource = 'network' | 'disk';

/** What the metrics read at scrape time. */
export interface RuntimeMetricsState {
  version(): number | null;
  stalenessSeconds(): number;
  source(): ConfigSource | null;
  /** Running totals of isEnabled() calls, and of those answered with the fallback. */
  flagEvaluations(): number;
  flagFallbacks(): number;
}

export interface RuntimeMetrics {
  /** Label `code` is a RuntimeErrorCode: a bounded set. */
  errors: Counter<'code'>;
  reconnects: Counter;
  /** Label `reason`: 'moved' or 'fenced'. */
  writeRetries: Counter<'reason'>;
  writeFailures: Counter<'reason'>;
  /** Label `reason`: a FlagErrorReason ('invalid_org_id'). */
  flagErrors: Counter<'reason'>;
  /** Label `target`: 'replica' or 'primary'. */
  reads: Counter<'target'>;
  /** Label `reason`: a ReadFallbackReason. */
  readFallbacks: Counter<'reason'>;
  readRetries: Counter;
}

const SOURCES: readonly ConfigSource[] = ['network', 'disk'];

/** Registers the runtime's metrics on `registry`; throws if one runtime already did on it. */
export function createRuntimeMetrics(registry: Registry, state: RuntimeMetricsState): RuntimeMetrics {
  new Gauge({
    name: 'orgplane_runtime_config_version',
    help: 'Config version the runtime routes with; -1 before it has one.',
    registers: [registry],
    collect() {
      this.set(state.version() ?? -1);
    },
  });
  new Gauge({
    name: 'orgplane_runtime_config_staleness_seconds',
    help: 'Seconds since the control plane last confirmed the config is current (snapshot, change or heartbeat); +Inf if it never has in this process.',
    registers: [registry],
    collect() {
      this.set(state.stalenessSeconds());
    },
  });
  new Gauge({
    name: 'orgplane_runtime_config_source',
    help: 'Where the config in use came from: 1 for the current source, 0 for the others.',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      const current = state.source();
      for (const source of SOURCES) this.set({ source }, current === source ? 1 : 0);
    },
  });
  const errors = new Counter({
    name: 'orgplane_runtime_config_errors_total',
    help: 'Problems following the config (by error code): network, auth, protocol, version gaps, cache.',
    labelNames: ['code'],
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'orgplane_runtime_watch_reconnects_total',
    help: 'Times the runtime reconnected to the config watch stream.',
    registers: [registry],
  });
  const writeRetries = new Counter({
    name: 'orgplane_runtime_write_retries_total',
    help: 'Writes run again because the cluster refused the org: reason="moved" (OPF02, retried on the new owner) or "fenced" (OPF01).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const writeFailures = new Counter({
    name: 'orgplane_runtime_write_refusals_total',
    help: 'Writes given up because of a move: reason="moved" (OrgMovedError) or "fenced" (OrgFencedError).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const flagErrors = new Counter({
    name: 'orgplane_runtime_flag_errors_total',
    help: 'isEnabled() calls for a known flag that could not be decided and answered the fallback: reason="invalid_org_id".',
    labelNames: ['reason'],
    registers: [registry],
  });
  const reads = new Counter({
    name: 'orgplane_runtime_reads_total',
    help: 'Reads run by runtime.read(), by where they ran: target="replica" or "primary".',
    labelNames: ['target'],
    registers: [registry],
  });
  const readFallbacks = new Counter({
    name: 'orgplane_runtime_read_fallbacks_total',
    help: 'Reads (read() and pool(orgId, {intent: "read"})) sent to the primary: reason="no_healthy_replica", "read_your_writes" (no replica replayed the org\'s last write yet), "replica_failed" or "replica_refused" (a replica refused the org: the primary decides).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const readRetries = new Counter({
    name: 'orgplane_runtime_read_retries_total',
    help: 'Reads run again elsewhere because the connection to their replica failed.',
    registers: [registry],
  });
  countedAtScrape(registry, 'orgplane_runtime_flag_evaluations_total', 'isEnabled() calls.', state.flagEvaluations);
  countedAtScrape(
    registry,
    'orgplane_runtime_flag_fallbacks_total',
    'isEnabled() calls answered with the fallback: the flag is unknown, no config is loaded yet, or the org id is invalid.',
    state.flagFallbacks,
  );
  return { errors, reconnects, writeRetries, writeFailures, flagErrors, reads, readFallbacks, readRetries };
}

/** A counter that follows a running total read at scrape time, so that counting costs one `++`. */
function countedAtScrape(registry: Registry, name: string, help: string, total: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = total();
      if (now > reported) this.inc(now - reported);
      reported = now;
    },
  });
}
