// The one path every config mutation takes, in one transaction: lock the version row,
// compare expectedVersion, apply, bump the version, record the delta, write the audit
// row, and notify every instance (delivered at commit).
import type { ConfigDelta } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { VersionConflictError } from '../../errors.js';
import type { Stores } from '../../stores.js';
import type { AuditAction } from '../audit/AuditStore.js';
import type { Actor } from '../auth/Actor.js';

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
      throw new VersionConflictError(request.expectedVersion, current);
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
