// The health checker's figures as gauges, read at scrape time from its last probe round.
// Only the instance that holds the checker's lock reports them (the others have none), so
// alert rules aggregate with max by (cluster, replica).

import { REPLICA_HEALTH_STATES } from '@orgplane/runtime/wire';
import { Gauge, type Registry } from 'prom-client';
import type { LastProbe } from './ReplicaHealthWorker.js';

export function registerReplicaHealthMetrics(registry: Registry, lastProbes: () => readonly LastProbe[]): void {
  const registers = [registry];
  new Gauge({
    name: 'orgplane_replica_lag_seconds',
    help: 'Replay lag of each replica at its last probe, in seconds (0 when replay has reached the primary; absent when unmeasured)',
    labelNames: ['cluster', 'replica'],
    registers,
    collect() {
      this.reset();
      for (const p of lastProbes()) if (p.lagSeconds !== null) this.set({ cluster: p.clusterId, replica: p.id }, p.lagSeconds);
    },
  });
  new Gauge({
    name: 'orgplane_replica_lag_bytes',
    help: 'Bytes of WAL each replica had yet to replay at its last probe (absent when unmeasured)',
    labelNames: ['cluster', 'replica'],
    registers,
    collect() {
      this.reset();
      for (const p of lastProbes()) if (p.lagBytes !== null) this.set({ cluster: p.clusterId, replica: p.id }, p.lagBytes);
    },
  });
  new Gauge({
    name: 'orgplane_replica_state',
    help: 'State of each replica: 1 for its current state (healthy, lagging, unhealthy, unreachable, draining, unknown), 0 for the others',
    labelNames: ['cluster', 'replica', 'state'],
    registers,
    collect() {
      this.reset();
      for (const p of lastProbes()) {
        for (const state of REPLICA_HEALTH_STATES) this.set({ cluster: p.clusterId, replica: p.id, state }, p.state === state ? 1 : 0);
      }
    },
  });
}
