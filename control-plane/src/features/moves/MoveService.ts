// Creates moves (validated, each org's source resolved from the shard map, the org
// checked on its source) and takes the operator's decisions on them. The executor does
// the work; this service only changes what the executor will do next.
import { randomBytes } from 'node:crypto';
import { ownerLookup } from '@orgplane/runtime/rules';
import { ORG_ID_MAX, type WirePlacement } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import {
  AlreadyOnClusterError,
  ClusterNotFoundError,
  InvalidInputError,
  InvalidMoveStateError,
  MoveBatchNotFoundError,
  MoveNotFoundError,
  OrgAlreadyMovingError,
  OrgNotFoundError,
  RangeAlreadyMovingError,
  RangeHasMovingOrgsError,
  RangeMovingError,
  RangeNotFoundError,
  RangeSpansClustersError,
} from '../../errors.js';
import { requireOrgId } from '../../lib/orgId.js';
import type { Logger } from '../../logger.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import { rangeMoveSource } from '../shard-map/rangeRules.js';
import { assertClustersAcceptOrgs } from '../shard-map/ShardMapService.js';
import { choosePercent } from './choosePercent.js';
import { ABORTABLE_STATES, type Move, type MoveBatch, type MoveRecord, type MoveState, type ReadFrom, toMove } from './Move.js';
import type { MovePatch, MoveQuery } from './MoveStore.js';
import { missingOrgIds, sourceOrgIds } from './SourceOrgIds.js';

export interface CreateMovesInput {
  orgIds?: unknown[] | undefined;
  from?: string | undefined;
  to: string;
  percent?: number | undefined;
  range?: { lo: unknown; hi: unknown } | undefined;
  concurrency?: number | undefined;
  fenceDeadlineMs?: number | undefined;
  graceSeconds?: number | undefined;
  /** Range moves: parallel COPY streams, and where the bulk copy reads. */
  copyStreams?: number | undefined;
  readFrom?: ReadFrom | undefined;
  reason?: string | undefined;
}

export const MOVE_DEFAULTS = { concurrency: 4, fenceDeadlineMs: 1000, graceSeconds: 3600, copyStreams: 4, readFrom: 'replica' } as const;

const newId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

export class MoveService {
  constructor(
    private readonly db: Database<Stores>,
    private readonly log: Logger,
  ) {}

  async create(actor: Actor, input: CreateMovesInput): Promise<{ batch: MoveBatch; moves: Move[] }> {
    const hasOrgIds = input.orgIds !== undefined;
    const hasPercent = input.percent !== undefined;
    if (!hasOrgIds && !hasPercent && input.range !== undefined) return this.createRangeMoves(actor, [input.range], input);
    if (hasOrgIds === hasPercent) {
      throw new InvalidInputError('send either orgIds or percent, not both and not neither', {
        details: [{ field: hasOrgIds ? 'percent' : 'orgIds', message: hasOrgIds ? 'cannot come with orgIds' : 'or percent is required' }],
        hint: 'move named orgs with {"orgIds": [..], "to"}, or a share of a cluster with {"from", "to", "percent"}',
      });
    }
    if (hasOrgIds && input.range !== undefined) {
      throw new InvalidInputError('range goes with percent, not with orgIds', { details: [{ field: 'range', message: 'needs percent' }] });
    }
    const options = {
      concurrency: input.concurrency ?? MOVE_DEFAULTS.concurrency,
      fenceDeadlineMs: input.fenceDeadlineMs ?? MOVE_DEFAULTS.fenceDeadlineMs,
      graceSeconds: input.graceSeconds ?? MOVE_DEFAULTS.graceSeconds,
    };
    const plan = hasOrgIds ? await this.planOrgs(input) : await this.planPercent(input);
    const batchId = newId('mb');
    const result = await this.db.transaction(async (stores) => {
      const batch = await stores.moveBatches.insert({
        id: batchId,
        from: input.from ?? null,
        to: input.to,
        percent: input.percent ?? null,
        range: plan.range,
        ...options,
        reason: input.reason ?? null,
        actor: actor.name,
      });
      const moveIds: string[] = [];
      for (const org of plan.orgs) {
        const id = newId('mv');
        await stores.moves.insert({ id, batchId, orgId: org.orgId, from: org.from, to: input.to, ...options, priorPlacement: org.prior });
        moveIds.push(id);
      }
      return created(stores, actor, input.reason, batch, moveIds, { orgIds: plan.orgs.map((o) => o.orgId) });
    });
    this.log.info({ batchId, moves: result.moves.length, to: input.to }, 'moves created');
    return result;
  }

  /**
   * One range move per span, in one batch: every org of the span moves together and the
   * flip reassigns its ranges. Each span must be what a range move can take (one range, or
   * adjacent ranges on one cluster) with no unfinished move inside it. Orgs of the span
   * that have a pin are left alone (recorded on the move). Used by POST /v1/moves {range}
   * and by the rebalancer, which splits the ranges first.
   */
  async createRangeMoves(
    actor: Actor,
    spans: readonly { lo: unknown; hi: unknown }[],
    input: Omit<CreateMovesInput, 'range' | 'orgIds' | 'percent'>,
  ): Promise<{ batch: MoveBatch; moves: Move[] }> {
    const checked = spans.map((span, i) => {
      const field = spans.length === 1 ? 'range' : `ranges[${i}]`;
      return { lo: requireOrgId(span.lo, `${field}.lo`), hi: requireOrgId(span.hi, `${field}.hi`) };
    });
    const options = {
      concurrency: input.concurrency ?? MOVE_DEFAULTS.concurrency,
      fenceDeadlineMs: input.fenceDeadlineMs ?? MOVE_DEFAULTS.fenceDeadlineMs,
      graceSeconds: input.graceSeconds ?? MOVE_DEFAULTS.graceSeconds,
    };
    const batchId = newId('mb');
    const result = await this.db.transaction(async (stores) => {
      // The shard map cannot change under the check: a range move and a map change touching
      // its span are serialised on the config version row.
      await stores.configLog.lockVersion();
      await this.requireClusters(stores, input);
      const ranges = await stores.ranges.list();
      const moveIds: string[] = [];
      let from: string | null = null;
      const planned = [];
      for (const span of checked) {
        const source = rangeMoveSource(ranges, span.lo, span.hi);
        if (input.from !== undefined && source !== input.from) {
          throw new InvalidInputError(`[${span.lo}, ${span.hi}] is served by '${source}', not by '${input.from}'`, {
            details: [{ field: 'from', message: `the range is on ${source}` }],
            hint: 'leave out from, or name the cluster that serves the range',
          });
        }
        if (source === input.to) throw new AlreadyOnClusterError(null, source);
        if (from !== null && from !== source) throw new RangeSpansClustersError(span, [from, source]);
        from = source;
        const [moving] = await stores.moves.unfinishedRanges(span.lo, span.hi);
        if (moving) throw new RangeAlreadyMovingError(span, moving.moveId);
        const movingOrgs = await stores.moves.unfinishedOrgsIn(span.lo, span.hi);
        if (movingOrgs.size > 0) throw new RangeHasMovingOrgsError(span, movingOrgs);
        const pins = await stores.placements.inSpans([span]);
        planned.push({ span, pinnedOrgIds: pins.map((p) => p.orgId) });
      }
      const batch = await stores.moveBatches.insert({
        id: batchId,
        from,
        to: input.to,
        percent: null,
        range: checked.length === 1 ? checked[0]! : null,
        ...options,
        reason: input.reason ?? null,
        actor: actor.name,
      });
      for (const { span, pinnedOrgIds } of planned) {
        const id = newId('mv');
        await stores.moves.insertRange({
          id,
          batchId,
          range: span,
          pinnedOrgIds,
          from: from!,
          to: input.to,
          fenceDeadlineMs: options.fenceDeadlineMs,
          graceSeconds: options.graceSeconds,
          copyStreams: input.copyStreams ?? MOVE_DEFAULTS.copyStreams,
          readFrom: input.readFrom ?? MOVE_DEFAULTS.readFrom,
        });
        moveIds.push(id);
      }
      return created(stores, actor, input.reason, batch, moveIds, { ranges: checked });
    });
    this.log.info({ batchId, ranges: checked, to: input.to }, 'range moves created');
    return result;
  }

  async list(query: MoveQuery): Promise<{ moves: Move[] }> {
    if (query.before !== undefined && !(await this.db.stores.moves.get(query.before))) throw new MoveNotFoundError(query.before);
    return { moves: (await this.db.stores.moves.list(query)).map(toMove) };
  }

  async get(id: string): Promise<Move> {
    const record = await this.db.stores.moves.get(id);
    if (!record) throw new MoveNotFoundError(id);
    return { ...toMove(record), tables: await this.db.stores.moves.tables(id), events: await this.db.stores.moves.events(id) };
  }

  async batch(id: string): Promise<MoveBatch> {
    const batch = await this.db.stores.moveBatches.get(id);
    if (!batch) throw new MoveBatchNotFoundError(id);
    return batch;
  }

  /** A failed move continues where it stopped; a waiting one retries its cutover now. */
  resume(actor: Actor, id: string, reason?: string): Promise<Move> {
    return this.decide(actor, id, 'resume', reason, (move) => {
      if (move.state === 'waiting') return { state: 'catching_up', nextAttemptAt: null, error: null, failures: 0 };
      if (move.state === 'failed') {
        return { state: move.resumeState ?? 'catching_up', resumeState: null, nextAttemptAt: null, error: null, failures: 0 };
      }
      return ['failed', 'waiting'];
    });
  }

  /** Before the flip: drop what was copied; the source keeps serving the org. */
  abort(actor: Actor, id: string, reason?: string): Promise<Move> {
    return this.decide(actor, id, 'abort', reason, (move) =>
      ABORTABLE_STATES.includes(move.state) && move.flippedAt === undefined
        ? { state: 'aborting', nextAttemptAt: null, failures: 0 }
        : ABORTABLE_STATES,
    );
  }

  /** After the flip: route the org back to the source with every write made since. */
  rollback(actor: Actor, id: string, reason?: string): Promise<Move> {
    return this.decide(actor, id, 'rollback', reason, (move) =>
      move.state === 'flipped' || (move.state === 'failed' && move.resumeState === 'rolling_back')
        ? { state: 'rolling_back', resumeState: null, nextAttemptAt: null, error: null, failures: 0 }
        : ['flipped'],
    );
  }

  /** Delete the source rows now instead of after the grace period. */
  complete(actor: Actor, id: string, reason?: string): Promise<Move> {
    return this.decide(actor, id, 'complete', reason, (move) =>
      move.state === 'flipped' ? { state: 'completing', nextAttemptAt: null } : ['flipped'],
    );
  }

  /** Lock the move, let `choose` pick the change (or the allowed states), write it and its audit row. */
  private async decide(
    actor: Actor,
    id: string,
    action: 'resume' | 'abort' | 'rollback' | 'complete',
    reason: string | undefined,
    choose: (move: MoveRecord) => MovePatch | readonly MoveState[],
  ): Promise<Move> {
    const move = await this.db.transaction(async (stores) => {
      const before = await stores.moves.get(id, { forUpdate: true });
      if (!before) throw new MoveNotFoundError(id);
      const patch = choose(before);
      if (Array.isArray(patch)) throw new InvalidMoveStateError(id, action, before.state, patch);
      const change = patch as MovePatch;
      await stores.moves.transition(id, [before.state], change, `${action} by ${actor.name}${reason ? `: ${reason}` : ''}`);
      const after = (await stores.moves.get(id))!;
      await stores.audit.insert({
        actor,
        action: `move.${action}` as const,
        reason: reason ?? null,
        before: toMove(before),
        after: toMove(after),
        version: null,
      });
      await stores.moves.notifyExecutor();
      return after;
    });
    return toMove(move);
  }

  /** Named orgs: each one's source from the map, checked to exist there. */
  private async planOrgs(input: CreateMovesInput): Promise<Plan> {
    const orgIds = (input.orgIds ?? []).map((value, i) => requireOrgId(value, `orgIds[${i}]`));
    const seen = new Set<number>();
    for (const [i, orgId] of orgIds.entries()) {
      if (seen.has(orgId)) {
        throw new InvalidInputError(`org ${orgId} appears twice in orgIds`, {
          details: [{ field: `orgIds[${i}]`, message: 'is a duplicate' }],
        });
      }
      seen.add(orgId);
    }
    const { orgs, urls } = await this.db.transaction(
      async (stores) => {
        await this.requireClusters(stores, input);
        const ranges = await stores.ranges.list();
        const placements = await stores.placements.getMany(orgIds);
        const moving = await stores.moves.unfinishedByOrg(orgIds);
        const movingRanges = await stores.moves.unfinishedRanges(0, ORG_ID_MAX);
        const orgs: PlannedOrg[] = [];
        const ownerOf = ownerLookup(ranges, placements);
        for (const orgId of orgIds) {
          const inMovingRange = movingRanges.find((r) => orgId >= r.lo && orgId <= r.hi);
          if (inMovingRange) throw new RangeMovingError(`org ${orgId} cannot move on its own`, inMovingRange);
          const from = ownerOf(orgId);
          if (from === null) {
            throw new RangeNotFoundError(`no range holds org ${orgId}`, {
              hint: 'the shard map does not cover it: see GET /v1/shard-map',
              details: { orgId },
            });
          }
          if (from === input.to) throw new AlreadyOnClusterError(orgId, from);
          if (input.from !== undefined && from !== input.from) {
            throw new InvalidInputError(`org ${orgId} lives on '${from}', not on '${input.from}'`, {
              details: [{ field: 'from', message: `org ${orgId} is on ${from}` }],
              hint: 'leave out from to move each org from wherever it lives',
            });
          }
          const moveId = moving.get(orgId);
          if (moveId !== undefined) throw new OrgAlreadyMovingError(orgId, moveId);
          orgs.push({ orgId, from, prior: placements.get(orgId) ?? null });
        }
        const urls = new Map<string, string>();
        for (const id of new Set([...orgs.map((o) => o.from), input.to])) urls.set(id, (await stores.clusters.get(id))!.primaryUrl);
        return { orgs, urls };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
    await this.requireOrgsExist(orgs, urls);
    return { orgs, range: null };
  }

  /** P % of the orgs that live on `from` (within `range`), read from the source itself. */
  private async planPercent(input: CreateMovesInput): Promise<Plan> {
    if (input.from === undefined) {
      throw new InvalidInputError('percent needs from: the cluster whose orgs to move', {
        details: [{ field: 'from', message: 'is required' }],
      });
    }
    const range = {
      lo: input.range === undefined ? 0 : requireOrgId(input.range.lo, 'range.lo'),
      hi: input.range === undefined ? ORG_ID_MAX : requireOrgId(input.range.hi, 'range.hi'),
    };
    if (range.lo > range.hi) {
      throw new InvalidInputError('range.lo is greater than range.hi', { details: [{ field: 'range', message: 'needs lo <= hi' }] });
    }
    const from = input.from;
    const { sourceUrl, ranges, movingRanges } = await this.db.transaction(
      async (stores) => {
        await this.requireClusters(stores, input);
        if (from === input.to) throw new AlreadyOnClusterError(null, from);
        return {
          sourceUrl: (await stores.clusters.get(from))!.primaryUrl,
          ranges: await stores.ranges.list(),
          movingRanges: await stores.moves.unfinishedRanges(range.lo, range.hi),
        };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
    const candidates: PlannedOrg[] = [];
    for await (const page of sourceOrgIds(sourceUrl, range)) {
      const placements = await this.db.stores.placements.getMany(page);
      const moving = await this.db.stores.moves.unfinishedByOrg(page);
      const ownerOf = ownerLookup(ranges, placements);
      for (const orgId of page) {
        // An org already moving (alone or with its range), or routed elsewhere (moved away,
        // not yet completed), is not the source's to move.
        if (moving.has(orgId) || ownerOf(orgId) !== from) continue;
        if (movingRanges.some((r) => orgId >= r.lo && orgId <= r.hi)) continue;
        candidates.push({ orgId, from, prior: placements.get(orgId) ?? null });
      }
    }
    const chosen = new Set(
      choosePercent(
        candidates.map((c) => c.orgId),
        input.percent!,
      ),
    );
    return { orgs: candidates.filter((c) => chosen.has(c.orgId)), range: input.range === undefined ? null : range };
  }

  private async requireClusters(stores: Stores, input: CreateMovesInput): Promise<void> {
    const ids = input.from === undefined ? [input.to] : [input.from, input.to];
    const states = await stores.clusters.states(ids);
    for (const id of ids) if (!states.has(id)) throw new ClusterNotFoundError(id);
    // Moves out of a draining cluster go on; moves into it (or a retired one) are refused.
    await assertClustersAcceptOrgs(stores, [input.to]);
  }

  /** Each source is asked once for all of its orgs in the batch (a batch may name 100,000). */
  private async requireOrgsExist(orgs: readonly PlannedOrg[], urls: Map<string, string>): Promise<void> {
    const bySource = new Map<string, number[]>();
    for (const org of orgs) {
      const ids = bySource.get(org.from);
      if (ids) ids.push(org.orgId);
      else bySource.set(org.from, [org.orgId]);
    }
    for (const [clusterId, orgIds] of bySource) {
      const [missing] = await missingOrgIds(urls.get(clusterId)!, orgIds);
      if (missing !== undefined) throw new OrgNotFoundError(missing, clusterId);
    }
  }
}

/** A new batch's audit row and the executor's wake-up (both at commit), and the batch as the API answers it. */
async function created(
  stores: Stores,
  actor: Actor,
  reason: string | undefined,
  batch: MoveBatch,
  moveIds: readonly string[],
  what: Record<string, unknown>,
): Promise<{ batch: MoveBatch; moves: Move[] }> {
  await stores.audit.insert({
    actor,
    action: 'move.create',
    reason: reason ?? null,
    before: null,
    after: { batch, ...what, moveIds },
    version: null,
  });
  await stores.moves.notifyExecutor();
  const moves: Move[] = [];
  for (const id of moveIds) moves.push(toMove((await stores.moves.get(id))!));
  return { batch: { ...batch, counts: moves.length > 0 ? { pending: moves.length } : {}, total: moves.length }, moves };
}

interface PlannedOrg {
  orgId: number;
  from: string;
  prior: WirePlacement | null;
}

interface Plan {
  orgs: PlannedOrg[];
  range: { lo: number; hi: number } | null;
}
