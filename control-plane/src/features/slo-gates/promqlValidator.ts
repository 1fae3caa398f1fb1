// The query validator RolloutService calls for every check of a new rollout: Prometheus
// itself says whether the PromQL parses. A control plane without a Prometheus
// (ORGPLANE_PROMETHEUS_URL unset) stores checks unvalidated: the gate records each of
// them as an `error` ("no Prometheus is configured"), which never counts as a pass, so
// such a stage is held (or, with noData "fail", paused) instead of advancing blind.
import type { Logger } from '../../logger.js';
import type { PrometheusClient } from './PrometheusClient.js';

export function promqlValidator(prometheus: PrometheusClient | null, log: Logger): (query: string) => Promise<void> {
  if (prometheus === null) {
    return async (query) => {
      log.warn(
        { query },
        'ORGPLANE_PROMETHEUS_URL is not set: this check is stored unvalidated and the SLO gate will record it as an error',
      );
    };
  }
  return (query) => prometheus.validate(query);
}
