// The one path every config mutation takes, in one transaction: lock the version row,
// compare expectedVersion (stale only if a change other than an automatic replica-health
// state came after it), apply, bump the version, record the delta, write the audit
// row, and notify every instance (delivered at commit).
import type { ConfigDelta } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { VersionConflictError } from '../../errors.js';
import type { Stores } from '../../stores.js';
import type { AuditAction } from '../audit/AuditStore.js';
import type { Actor } from '../auth/Actor.js';

/** Changes the control plane makes by itself, which never conflict with an expectedVersion. */
export const AUTOMATIC_ACTIONS: readonly AuditAction[] = ['replica.health'];

export interface ChangeRequest {
  actor: Actor;
  action: AuditAction;
  reason?: string | undefined;
  expectedVersion?: number | undefined;
}

export interface AppliedChange<T> {
  result: T;
  /** Audit before/after, as the API shows them. */
  before: unknown;
  after: unknown;
  delta: Omit<ConfigDelta, 'version' | 'action'>;
}

export async function commitConfigChange<T>(
  db: Database<Stores>,
  request: ChangeRequest,
  apply: (stores: Stores, currentVersion: number) => Promise<AppliedChange<T>>,
): Promise<{ version: number; result: T }> {
  return db.transaction(async (stores) => {
    const current = await stores.configLog.lockVersion();
    if (request.expectedVersion !== undefined && request.expectedVersion !== current) {
      const expected = request.expectedVersion;
      // Only a change someone made conflicts: the health checker's replica states move the
      // version by themselves, and an operator who read the map a moment ago must not
      // have to race them.
      if (expected > current || (await stores.configLog.countChangesAfter(expected, AUTOMATIC_ACTIONS)) > 0) {
        throw new VersionConflictError(expected, current);
      }
    }
    const applied = await apply(stores, current);
    const version = current + 1;
    await stores.configLog.append({ version, action: request.action, ...applied.delta });
    await stores.audit.insert({
      actor: request.actor,
      action: request.action,
      reason: request.reason ?? null,
      before: applied.before,
      after: applied.after,
      version,
    });
    return { version, result: applied.result };
  });
}
