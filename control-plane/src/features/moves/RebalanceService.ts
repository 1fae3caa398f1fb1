// `rebalance`: move P % of a cluster's orgs (or rows) to another cluster as range moves.
// It plans from the source's real org-id distribution (RebalancePlanner.ts), splits the
// one range the cut falls inside (an ordinary, audited shard-map split), and hands the
// spans to MoveService.createRangeMoves: the same checks and the same moves as
// POST /v1/moves {range}. Everything that can refuse is checked before the split.

import { ORG_ID_MAX, ORG_ID_MIN } from '@orgplane/runtime/wire';
import type { RebalanceBy } from '../../api/rules.js';
import type { Database } from '../../db/Database.js';
import { sqlState } from '../../db/Database.js';
import {
  AlreadyOnClusterError,
  AppError,
  ClusterHasNoOrgsError,
  ClusterNotFoundError,
  ClusterUnreachableError,
  InvalidInputError,
  RangeAlreadyMovingError,
  RangeHasMovingOrgsError,
} from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import { assertClustersAcceptOrgs, type ShardMapService } from '../shard-map/ShardMapService.js';
import type { Move, MoveBatch, ReadFrom } from './Move.js';
import type { MoveService } from './MoveService.js';
import { type PlannedRange, planOnSource, type SourcePlan, spansOf } from './RebalancePlanner.js';
import { withCluster } from './SourceOrgIds.js';

/**
 * Copy rate assumed until a range move has been measured here. Measured once on the
 * development machine (a 30,000-org lab, 4 streams read from a replica, shared CPUs):
 * 134,331 rows/s moving 411,860 rows and 257,326 rows/s moving 740,069 rows. Rounded
 * down below both, since a small move pays a fixed cost per table and a busy source
 * copies slower.
 */
export const DEFAULT_COPY_ROWS_PER_SECOND = 100_000;

export interface RebalanceInput {
  from: string;
  to: string;
  percent: number;
  by?: RebalanceBy | undefined;
  dryRun?: boolean | undefined;
  copyStreams?: number | undefined;
  readFrom?: ReadFrom | undefined;
  fenceDeadlineMs?: number | undefined;
  graceSeconds?: number | undefined;
  reason?: string | undefined;
}

export interface RebalancePlan extends SourcePlan {
  from: string;
  to: string;
  by: RebalanceBy;
  percent: number;
  ranges: PlannedRange[];
  estimatedSeconds: number;
  copyRowsPerSecond: number;
  rateBasis: 'measured' | 'default';
}

export class RebalanceService {
  constructor(
    private readonly db: Database<Stores>,
    private readonly log: Logger,
    private readonly shardMap: ShardMapService,
    private readonly moves: MoveService,
  ) {}

  async plan(input: RebalanceInput): Promise<{ plan: RebalancePlan; version: number }> {
    if (!(typeof input.percent === 'number' && input.percent > 0 && input.percent < 100)) {
      throw new InvalidInputError(`percent must be greater than 0 and less than 100, got ${String(input.percent)}`, {
        details: [{ field: 'percent', message: 'must be in (0, 100)' }],
        hint: 'move a share of the cluster, for example percent: 10',
      });
    }
    const by = input.by ?? 'orgs';
    const { version, ranges, pinned, url } = await this.db.transaction(
      async (stores) => {
        const states = await stores.clusters.states([input.from, input.to]);
        for (const id of [input.from, input.to]) if (!states.has(id)) throw new ClusterNotFoundError(id);
        if (input.from === input.to) throw new AlreadyOnClusterError(null, input.from);
        await assertClustersAcceptOrgs(stores, [input.to]);
        const ranges = (await stores.ranges.list()).filter((r) => r.clusterId === input.from).map(({ lo, hi }) => ({ lo, hi }));
        if (ranges.length === 0) throw new ClusterHasNoOrgsError(input.from);
        const moving = await stores.moves.unfinishedRanges(ORG_ID_MIN, ORG_ID_MAX);
        for (const range of ranges) {
          const overlap = moving.find((m) => m.lo <= range.hi && m.hi >= range.lo);
          if (overlap) throw new RangeAlreadyMovingError(range, overlap.moveId);
        }
        return {
          version: await stores.configLog.currentVersion(),
          ranges,
          pinned: (await stores.placements.inSpans(ranges)).map((p) => p.orgId),
          url: (await stores.clusters.get(input.from))!.primaryUrl,
        };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
    const source = await this.readSource(input.from, url, { ranges, pinned, by, percent: input.percent });
    if (source.sourceOrgs === 0) throw new ClusterHasNoOrgsError(input.from);
    const rate = await this.copyRate();
    const plan: RebalancePlan = {
      from: input.from,
      to: input.to,
      by,
      percent: input.percent,
      ...source,
      estimatedSeconds: Math.round((source.rows / rate.rowsPerSecond) * 10) / 10,
      copyRowsPerSecond: rate.rowsPerSecond,
      rateBasis: rate.basis,
    };
    // An org of a span moving on its own would refuse the range move after the split.
    for (const span of spansOf(plan.ranges)) {
      const moving = await this.db.stores.moves.unfinishedOrgsIn(span.lo, span.hi);
      if (moving.size > 0) throw new RangeHasMovingOrgsError(span, moving);
    }
    return { plan, version };
  }

  /** Plan; unless dryRun, split and create the range moves. */
  async rebalance(
    actor: Actor,
    input: RebalanceInput,
  ): Promise<{ plan: RebalancePlan } | { plan: RebalancePlan; batch: MoveBatch; moves: Move[] }> {
    const { plan, version } = await this.plan(input);
    if (input.dryRun) return { plan };
    const reason = `rebalance ${plan.percent} % of ${plan.from}'s ${plan.by} to ${plan.to}${input.reason ? `: ${input.reason}` : ''}`;
    const split = plan.ranges.find((r) => r.splitAt !== null);
    // The plan was made on this version of the map: a change since (other than the health
    // checker's) makes the split refuse with VERSION_CONFLICT, and nothing changes.
    if (split) await this.shardMap.split(actor, { at: split.splitAt, expectedVersion: version, reason });
    try {
      const created = await this.moves.createRangeMoves(actor, spansOf(plan.ranges), {
        from: plan.from,
        to: plan.to,
        copyStreams: input.copyStreams,
        readFrom: input.readFrom,
        fenceDeadlineMs: input.fenceDeadlineMs,
        graceSeconds: input.graceSeconds,
        reason,
      });
      this.log.info({ from: plan.from, to: plan.to, ranges: plan.ranges, batchId: created.batch.id }, 'rebalance started');
      return { plan, ...created };
    } catch (err) {
      if (!split || !(err instanceof AppError)) throw err;
      // The split is harmless (both halves stay on `from`), and undoing it could race
      // another change: say it stays, and how to go on.
      throw new AppError(err.code, err.statusCode, err.message, {
        hint: `${err.hint ? `${err.hint}; ` : ''}the split at ${split.splitAt} was made and stays (both halves are on '${plan.from}'): retry the rebalance, or move [${split.splitAt}, ${split.hi}] with POST /v1/moves {range}`,
        details: err.details,
        cause: err,
      });
    }
  }

  private async readSource(clusterId: string, url: string, input: Parameters<typeof planOnSource>[1]): Promise<SourcePlan> {
    try {
      return await withCluster(url, async (client) => {
        // One snapshot: the counts and the cut agree even while orgs are created.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        try {
          return await planOnSource(client, input);
        } finally {
          await client.query('ROLLBACK').catch(() => {});
        }
      });
    } catch (err) {
      if (err instanceof AppError) throw err;
      // No tenant tables: the cluster holds no orgs.
      if (sqlState(err) === '42P01') throw new ClusterHasNoOrgsError(clusterId);
      throw new ClusterUnreachableError(clusterId, { cause: err });
    }
  }

  private async copyRate(): Promise<{ rowsPerSecond: number; basis: 'measured' | 'default' }> {
    const copy = await this.db.stores.moves.newestRangeCopy();
    if (!copy) return { rowsPerSecond: DEFAULT_COPY_ROWS_PER_SECOND, basis: 'default' };
    return { rowsPerSecond: Math.max(1, Math.round(copy.rows / copy.seconds)), basis: 'measured' };
  }
}
