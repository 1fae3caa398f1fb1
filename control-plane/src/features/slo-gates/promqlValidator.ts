// The query validator RolloutService calls for every check of a new rollout: Prometheus
// itself says whether the PromQL parses. Without a Prometheus, checks cannot be trusted
// to ever be evaluated, so a rollout that has any is refused rather than stored blind.
import { PrometheusNotConfiguredError } from '../../errors.js';
import type { PrometheusClient } from './PrometheusClient.js';

export function promqlValidator(prometheus: PrometheusClient | null): (query: string) => Promise<void> {
  if (prometheus === null) {
    return async () => {
      throw new PrometheusNotConfiguredError();
    };
  }
  return (query) => prometheus.validate(query);
}
