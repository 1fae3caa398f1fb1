// What a move carries from one cluster to the other: one org, or every org of a shard-map
// span but its pinned ones. Every statement of the tenant side that selects the moved rows
// (copy, replay, checksums, deletes) takes its predicate from here, so an org move and a
// range move run the same code.
import { InvalidOrgIdError } from '../../../errors.js';

export type MoveScope =
  | { kind: 'org'; orgId: number }
  | {
      kind: 'range';
      lo: number;
      hi: number;
      /** Orgs of the span with a pin: left alone (not copied, not replayed, not deleted). */
      pinned: readonly number[];
      /** Of those, the ones pinned to the source: it keeps serving them ('owned' markers). */
      pinnedToSource: readonly number[];
      /** Of those, the ones pinned to the target: it serves them already ('owned' markers). */
      pinnedToTarget: readonly number[];
    };

export const orgScope = (orgId: number): MoveScope => ({ kind: 'org', orgId });

function checkId(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidOrgIdError(what, value);
}

export function checkScope(scope: MoveScope): void {
  if (scope.kind === 'org') {
    checkId(scope.orgId, 'orgId');
    return;
  }
  checkId(scope.lo, 'range.lo');
  checkId(scope.hi, 'range.hi');
  for (const id of scope.pinned) checkId(id, 'pinned org id');
}

/** For logs and messages: "org 7", "range [0, 99]". */
export function scopeLabel(scope: MoveScope): string {
  return scope.kind === 'org' ? `org ${scope.orgId}` : `range [${scope.lo}, ${scope.hi}]`;
}

/** Fields for a log line or an error's details: {orgId}, or {range: {lo, hi}}. */
export function scopeLog(scope: MoveScope): Record<string, unknown> {
  return scope.kind === 'org' ? { orgId: scope.orgId } : { range: { lo: scope.lo, hi: scope.hi } };
}

/**
 * The moved rows of a table, as a predicate on `column` (qualified by the caller when it
 * needs to be). Literals, not parameters: COPY takes none, and every id was checked to be
 * a safe integer. The pinned orgs of a range become one hashed array probe.
 */
export function scopeWhere(scope: MoveScope, column = 'org_id'): string {
  if (scope.kind === 'org') return `${column} = ${scope.orgId}`;
  const span = `${column} BETWEEN ${scope.lo} AND ${scope.hi}`;
  return scope.pinned.length === 0 ? span : `${span} AND NOT (${column} = ANY ('{${scope.pinned.join(',')}}'::bigint[]))`;
}

/** The scope's fence: its advisory-lock key on the cluster (migrations/tenant/...range-moves.sql). */
export function fenceKeySql(scope: MoveScope): string {
  return scope.kind === 'org' ? `orgplane_fence_key(${scope.orgId})` : `orgplane_range_fence_key(${scope.lo})`;
}
