// One counter for every guard decision, by guard and outcome (bounded label values), and one
// histogram of the guards' Redis calls.
import { Counter, Histogram, type Registry } from 'prom-client';

export type GuardName = 'idempotency' | 'rate_limit' | 'connections' | 'body_limit' | 'cors' | 'cache';

export interface GuardMetrics {
  decision(guard: GuardName, outcome: string): void;
  redisSeconds: Histogram<'guard' | 'result'>;
}

export function createGuardMetrics(registry: Registry): GuardMetrics {
  const decisions = new Counter({
    name: 'orgplane_guard_decisions_total',
    help: 'Request-guard decisions by guard and outcome (allowed, limited, shadow_limited, replayed, in_flight, mismatch, fail_open, fail_closed, ...).',
    labelNames: ['guard', 'outcome'] as const,
    registers: [registry],
  });
  const redisSeconds = new Histogram({
    name: 'orgplane_guard_redis_seconds',
    help: "Duration of the guards' Redis calls, by guard and result (ok, error, timeout).",
    labelNames: ['guard', 'result'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  });
  return { decision: (guard, outcome) => decisions.inc({ guard, outcome }), redisSeconds };
}
