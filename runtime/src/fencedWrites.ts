// Work that survives an org move. A cluster refuses an org it does not serve (SQLSTATE
// OPF02: the ownership check before the first statement, or the row trigger) or that a
// cutover holds (OPF01, after the tenant trigger waited fence_wait_ms); see
// migrations/tenant/1764000000000_move-capture.sql and 1764300000000_ownership-markers.sql.
// Both errors abort the statement, so nothing of the attempt was committed, and the whole
// attempt (a transaction, or one autocommit statement) can run again:
// - OPF02: refresh the map, then retry once on the new owner; never on the same cluster.
//   The source marks the org moved a moment before the control plane commits the flip,
//   so while the refreshed map still routes here, refresh again with a backoff until the
//   fence budget is spent. A refresh that cannot reach the control plane ends it at once.
// - OPF01: retry with a short backoff until the write's fence budget is spent.

import { performance } from 'node:perf_hooks';
import { backoffMs, sleep, sqlState } from '@orgplane/kit';
import type pg from 'pg';
import { OrgFencedError, OrgMovedError } from './errors.js';
import { SQLSTATE_ORG_FENCED, SQLSTATE_ORG_MOVED } from './wire.js';

export const DEFAULT_FENCE_WAIT_MS = 2000;
export const DEFAULT_REFRESH_TIMEOUT_MS = 2000;
/** Backoff between fenced attempts: full jitter, the ceiling doubling from base up to the cap. */
const FENCED_BACKOFF_BASE_MS = 20;
const FENCED_BACKOFF_CAP_MS = 200;

export type WriteRetryReason = 'moved' | 'fenced';

/** Emitted as the runtime's `write-retry` event before each new attempt. */
export interface WriteRetryEvent {
  orgId: number;
  reason: WriteRetryReason;
  /** The attempt about to start: 2 for the first retry. */
  attempt: number;
  /** The cluster that refused the write. */
  clusterId: string;
  /** Where the next attempt goes (the same cluster for `fenced`). */
  nextClusterId: string;
  /** Wait before the next attempt. */
  delayMs: number;
}

export interface WriteOptions {
  /**
   * The most this write waits out a fence, counted from its first attempt (default: the
   * runtime's `fenceWaitMs`, 2 s). The tenant trigger's own wait (fence_wait_ms) counts.
   */
  fenceWaitMs?: number;
}

/** What the retry loop needs from the runtime. */
export interface FenceHost {
  /** The cluster that owns the org now, and its primary's pool. */
  writeTarget(orgId: number): { clusterId: string; pool: pg.Pool };
  /** Makes the map at least as new as the control plane's after `errorAt`; never throws. */
  refreshAfter(errorAt: number): Promise<unknown>;
  /** The cluster that owns the org in the map in use. */
  route(orgId: number): string;
  retrying(event: WriteRetryEvent): void;
  gaveUp(reason: WriteRetryReason): void;
  random(): number;
}

/** Runs `attempt` against the org's owner, again after a move or a fence (see the file comment). */
export async function withFenceRetry<T>(
  host: FenceHost,
  orgId: number,
  fenceWaitMs: number,
  attempt: (pool: pg.Pool, clusterId: string) => Promise<T>,
): Promise<T> {
  const startedAt = performance.now();
  let attempts = 0;
  let moves = 0;
  let fences = 0;
  for (;;) {
    const { clusterId, pool } = host.writeTarget(orgId);
    attempts++;
    try {
      return await attempt(pool, clusterId);
    } catch (error) {
      const state = sqlState(error);
      if (state === SQLSTATE_ORG_MOVED) {
        if (moves > 0) {
          host.gaveUp('moved');
          throw new OrgMovedError(orgId, clusterId, 'the new owner refused the retry too', { cause: error });
        }
        // The watch stream may have brought the new owner already; else ask now, and
        // again while the control plane has not published the flip.
        let next = host.route(orgId);
        for (let refreshes = 0; next === clusterId; refreshes++) {
          const refreshed = await host.refreshAfter(performance.now());
          next = host.route(orgId);
          if (next !== clusterId) break;
          const remainingMs = fenceWaitMs - (performance.now() - startedAt);
          if (refreshed instanceof Error || remainingMs <= 0) {
            host.gaveUp('moved');
            throw new OrgMovedError(orgId, clusterId, 'the refreshed map still routes it there, so the request was not retried', {
              cause: error,
              hint:
                refreshed instanceof Error
                  ? `the map could not be refreshed: ${refreshed.message}`
                  : 'the control plane has not published the new owner yet; retry shortly',
            });
          }
          await sleep(
            Math.min(
              remainingMs,
              backoffMs(refreshes, { baseMs: FENCED_BACKOFF_BASE_MS, capMs: FENCED_BACKOFF_CAP_MS, random: host.random, jitter: 'equal' }),
            ),
          );
          next = host.route(orgId);
        }
        moves++;
        host.retrying({ orgId, reason: 'moved', attempt: attempts + 1, clusterId, nextClusterId: next, delayMs: 0 });
        continue;
      }
      if (state === SQLSTATE_ORG_FENCED) {
        const waitedMs = performance.now() - startedAt;
        const remainingMs = fenceWaitMs - waitedMs;
        if (remainingMs <= 0) {
          host.gaveUp('fenced');
          throw new OrgFencedError(orgId, clusterId, waitedMs, { cause: error });
        }
        const delayMs = Math.min(
          remainingMs,
          backoffMs(fences, { baseMs: FENCED_BACKOFF_BASE_MS, capMs: FENCED_BACKOFF_CAP_MS, random: host.random, jitter: 'equal' }),
        );
        fences++;
        host.retrying({ orgId, reason: 'fenced', attempt: attempts + 1, clusterId, nextClusterId: clusterId, delayMs });
        await sleep(delayMs);
        continue;
      }
      throw error;
    }
  }
}
