// Replica health as the API and the health checker change it. A change of the published
// state (the checker's verdict, a drain, an undrain) is a config change: version bump,
// the complete replica list as the delta, an audit row, in one transaction. Figures are
// not: they are written as they come and served by GET /v1/replicas and the metrics.
import type { Database } from '../../db/Database.js';
import { ClusterNotFoundError, InvalidThresholdsError, ReplicaDrainStateError, ReplicaNotFoundError } from '../../errors.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import { commitConfigChange } from '../config/commitConfigChange.js';
import { type ReplicaHealthRecord, toWireReplicaHealth } from './ReplicaHealthStore.js';
import type { HealthSettings, ProbedState } from './replicaHealthRules.js';

/** The health checker, in the audit log. */
export const HEALTH_CHECKER_ACTOR: Actor = { name: 'replica-health', tokenId: null, scope: 'admin' };

/** A replica as GET /v1/replicas shows it: never its URL. */
export interface ReplicaHealthView {
  id: string;
  clusterId: string;
  state: ReplicaHealthRecord['state'];
  probedState: ProbedState;
  drained: boolean;
  stateSince: string | null;
  lagSeconds: number | null;
  lagBytes: number | null;
  checkedAt: string | null;
  probeError: string | null;
}

export function toView(record: ReplicaHealthRecord): ReplicaHealthView {
  const { url: _url, primaryUrl: _primaryUrl, ...view } = record;
  return view;
}

export interface StateChange {
  id: string;
  from: ProbedState;
  to: ProbedState;
  /** Why, in words, for the audit row (the lag that decided it). */
  why: string;
}

export class ReplicaHealthService {
  constructor(private readonly db: Database<Stores>) {}

  async list(clusterId?: string): Promise<{ version: number; replicas: ReplicaHealthView[] }> {
    return this.db.transaction(
      async (stores) => {
        if (clusterId !== undefined && (await stores.clusters.states([clusterId])).size === 0) throw new ClusterNotFoundError(clusterId);
        return {
          version: await stores.configLog.currentVersion(),
          replicas: (await stores.replicaHealth.list(clusterId)).map(toView),
        };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  drain(actor: Actor, id: string, reason?: string) {
    return this.setDrained(actor, id, true, reason);
  }

  undrain(actor: Actor, id: string, reason?: string) {
    return this.setDrained(actor, id, false, reason);
  }

  private async setDrained(actor: Actor, id: string, drained: boolean, reason: string | undefined) {
    const { version, result } = await commitConfigChange(
      this.db,
      { actor, action: drained ? 'replica.drain' : 'replica.undrain', reason },
      async (stores) => {
        const before = await stores.replicaHealth.get(id);
        if (!before) throw new ReplicaNotFoundError(id);
        await stores.replicaHealth.lock(id);
        const locked = (await stores.replicaHealth.get(id))!;
        if (locked.drained === drained) throw new ReplicaDrainStateError(id, locked.drained);
        await stores.replicaHealth.setDrained(id, drained);
        const after = (await stores.replicaHealth.get(id))!;
        return {
          result: toView(after),
          before: toView(locked),
          after: toView(after),
          delta: { replicas: await stores.replicaHealth.wire() },
        };
      },
    );
    return { version, replica: result };
  }

  async settings(): Promise<HealthSettings> {
    return this.db.stores.replicaHealth.settings();
  }

  /** Changes some thresholds; audited, not a config version (runtimes never see them). */
  async updateSettings(actor: Actor, patch: Partial<HealthSettings>, reason?: string): Promise<HealthSettings> {
    return this.db.transaction(async (stores) => {
      const before = await stores.replicaHealth.settings();
      const after = { ...before, ...definedOnly(patch) };
      if (!(after.lagWarnSeconds < after.lagCriticalSeconds)) {
        throw new InvalidThresholdsError(
          `the warning lag (${after.lagWarnSeconds} s) must be below the critical lag (${after.lagCriticalSeconds} s)`,
          { lagWarnSeconds: after.lagWarnSeconds, lagCriticalSeconds: after.lagCriticalSeconds },
        );
      }
      await stores.replicaHealth.saveSettings(after);
      await stores.audit.insert({ actor, action: 'replica.settings', reason: reason ?? null, before, after, version: null });
      return after;
    });
  }

  /**
   * The checker's new verdicts, as one config change. A replica removed meanwhile is left
   * out; nothing is committed when no verdict is left.
   */
  async applyStates(changes: readonly StateChange[]): Promise<number | null> {
    if (changes.length === 0) return null;
    const reason = changes.map((c) => `${c.id}: ${c.from} -> ${c.to} (${c.why})`).join('; ');
    try {
      const { version } = await commitConfigChange(
        this.db,
        { actor: HEALTH_CHECKER_ACTOR, action: 'replica.health', reason },
        async (stores) => {
          const before = await stores.replicaHealth.list();
          const known = new Set(before.map((r) => r.id));
          const applied = changes.filter((c) => known.has(c.id));
          if (applied.length === 0) throw new NothingToApply();
          for (const c of applied) await stores.replicaHealth.setProbedState(c.id, c.to);
          const after = await stores.replicaHealth.list();
          const ids = new Set(applied.map((c) => c.id));
          return {
            result: null,
            before: before.filter((r) => ids.has(r.id)).map(toWireReplicaHealth),
            after: after.filter((r) => ids.has(r.id)).map(toWireReplicaHealth),
            delta: { replicas: after.map(toWireReplicaHealth) },
          };
        },
      );
      return version;
    } catch (error) {
      if (error instanceof NothingToApply) return null;
      throw error;
    }
  }
}

class NothingToApply extends Error {}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
