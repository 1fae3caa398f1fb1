// The guard every shard-map change goes through when it changes which cluster an org is
// routed to outside a move (a range assign, PUT of the ranges, a pin set by hand): the
// data moves first, the map follows.
//
// Inside the config transaction (the version row is locked, so no other change runs):
//   1. every cluster that gains orgs must be active (CLUSTER_NOT_ACCEPTING_ORGS);
//      `dataOn`, when given, must name it (DATA_ON_MISMATCH);
//   2. the cluster that serves the orgs now (O) is asked whether it holds rows of any
//      of them (ORG_DATA_WOULD_BE_STRANDED; CLUSTER_UNREACHABLE when it cannot be read),
//      unless `dataOn` says their rows are on the new cluster already (a restore from
//      backup): then what O holds is only recorded;
//   3. the new cluster (N) clears its ownership markers for what it now serves, so it
//      serves the orgs before any runtime can be routed there;
//   4. O tombstones what it no longer serves (orgs of a range pinned to O stay served),
//      so a runtime holding the old map gets OPF02, refreshes and goes to N. Between this
//      step and the commit O also refuses runtimes on the current map; they keep
//      refreshing on OPF02 for up to their fence budget (runtime/src/fencedWrites.ts)
//      and find N once the change is published. Marking O after the commit instead would
//      let a stale map write to O in the gap: the gap that markers exist to close.
// If anything fails after step 3 (a later step, or the commit), the caller runs the
// returned undo: N and O get back the markers of the map that stays.
import type { WirePlacement } from '@orgplane/runtime/wire';
import { sqlState } from '../../db/Database.js';
import {
  ClusterNotAcceptingOrgsError,
  ClusterNotFoundError,
  ClusterUnreachableError,
  DataOnMismatchError,
  OrgDataWouldBeStrandedError,
  TenantSchemaError,
} from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Stores } from '../../stores.js';
import { changeMarkers, heldOrgs, type MarkerChange } from '../moves/SourceOrgIds.js';
import type { ReroutedSpan } from './rangeRules.js';

/** Orgs that a change routes from `from` to `to`: spans of a range (minus pinned orgs), or single orgs. */
export interface Reroute {
  from: string;
  to: string;
  ranges: { lo: number; hi: number }[];
  orgIds: number[];
  /** The pins of orgs inside `ranges`: those orgs are not rerouted; the ones pinned to `from` stay served there. */
  pins: WirePlacement[];
}

/** What the guard found and did for one reroute; in the response and the audit row. */
export interface RerouteReport {
  from: string;
  to: string;
  ranges: { lo: number; hi: number }[];
  orgIds: number[];
  /** How many of the rerouted orgs have rows on `from`; null when it could not be read (only with dataOn). */
  orgsWithRowsOnFrom: number | null;
  /** A few of them, by org id. */
  sampleOrgIds: number[];
  /** Whether `from` now refuses the rerouted orgs (its markers); false only with dataOn when it could not be reached. */
  tombstoned: boolean;
}

export interface GuardRequest {
  /** The cluster the caller says holds the rows already: skips the refusal (a restore from backup). */
  dataOn?: string | undefined;
  /** Kept on every marker: `shard-map:<version>` of the change. */
  why: string;
}

/** The marker changes to take back if the change does not commit, newest first. */
export class MarkerUndo {
  private readonly steps: { clusterId: string; url: string; changes: MarkerChange[]; why: string }[] = [];

  add(clusterId: string, url: string, changes: MarkerChange[], why: string): void {
    this.steps.unshift({ clusterId, url, changes, why });
  }

  /** Best effort: a cluster that cannot be reached is logged, its markers stay as they are. */
  async run(log: Logger): Promise<void> {
    for (const step of this.steps.splice(0)) {
      try {
        await changeMarkers(step.url, step.changes, `undo ${step.why}`);
      } catch (err) {
        log.error(
          { err, clusterId: step.clusterId, changes: step.changes },
          'could not restore ownership markers after a failed shard-map change',
        );
      }
    }
  }
}

/** Range reroutes: group the spans by clusters, with the pins inside them. */
export async function rangeReroutes(stores: Stores, spans: readonly ReroutedSpan[]): Promise<Reroute[]> {
  if (spans.length === 0) return [];
  const pins = await stores.placements.inSpans(spans);
  const byPair = new Map<string, Reroute>();
  for (const span of spans) {
    const key = `${span.from}\u0000${span.to}`;
    let reroute = byPair.get(key);
    if (!reroute) {
      reroute = { from: span.from, to: span.to, ranges: [], orgIds: [], pins: [] };
      byPair.set(key, reroute);
    }
    reroute.ranges.push({ lo: span.lo, hi: span.hi });
    reroute.pins.push(...pins.filter((p) => p.orgId >= span.lo && p.orgId <= span.hi));
  }
  return [...byPair.values()];
}

/** Refuse the reroutes (named errors, nothing changed), or update both clusters' markers and report. */
export async function guardReroutes(
  stores: Stores,
  reroutes: readonly Reroute[],
  request: GuardRequest,
  undo: MarkerUndo,
): Promise<RerouteReport[]> {
  if (reroutes.length === 0) return [];
  const forced = request.dataOn !== undefined;
  const urls = new Map<string, string>();
  for (const id of new Set(reroutes.flatMap((r) => [r.from, r.to]))) {
    const cluster = await stores.clusters.get(id);
    if (!cluster) throw new ClusterNotFoundError(id);
    if (cluster.state !== 'active' && reroutes.some((r) => r.to === id)) throw new ClusterNotAcceptingOrgsError(id, cluster.state);
    urls.set(id, cluster.primaryUrl);
  }
  for (const r of reroutes)
    if (request.dataOn !== undefined && request.dataOn !== r.to) throw new DataOnMismatchError(request.dataOn, r.to);

  const found: ({ count: number; sampleOrgIds: number[] } | null)[] = [];
  for (const r of reroutes) {
    let held: { count: number; sampleOrgIds: number[] } | null;
    try {
      held = await heldOrgs(urls.get(r.from)!, { ranges: r.ranges, orgIds: r.orgIds, excluding: r.pins.map((p) => p.orgId) });
    } catch (cause) {
      if (!forced) {
        throw new ClusterUnreachableError(r.from, {
          cause,
          hint: `the change would route orgs of '${r.from}' to '${r.to}', and '${r.from}' must say it holds none of their rows: check that its primary is up, then retry; if their rows are already on '${r.to}' (restored from a backup), send dataOn: "${r.to}" (CLI: --data-on ${r.to} --reason ...)`,
          extraDetails: { to: r.to },
        });
      }
      held = null;
    }
    if (held && held.count > 0 && !forced) throw new OrgDataWouldBeStrandedError(r.from, r.to, held, r);
    found.push(held);
  }

  for (const r of reroutes) {
    const url = urls.get(r.to)!;
    try {
      await changeMarkers(url, servedChanges(r), request.why);
    } catch (cause) {
      throw markersError(r.to, cause, `'${r.to}' must serve the orgs before the map routes them there`);
    }
    undo.add(r.to, url, notServedChanges(r, r.to), request.why);
  }

  const reports: RerouteReport[] = [];
  for (const [i, r] of reroutes.entries()) {
    const held = found[i]!;
    let tombstoned = false;
    if (held !== null) {
      const url = urls.get(r.from)!;
      try {
        await changeMarkers(url, notServedChanges(r, r.from), request.why);
        undo.add(r.from, url, servedChanges(r), request.why);
        tombstoned = true;
      } catch (cause) {
        if (!forced)
          throw markersError(r.from, cause, `'${r.from}' must refuse the orgs it no longer serves (runtimes holding the old map)`);
      }
    }
    reports.push({
      from: r.from,
      to: r.to,
      ranges: r.ranges,
      orgIds: r.orgIds,
      orgsWithRowsOnFrom: held?.count ?? null,
      sampleOrgIds: held?.sampleOrgIds ?? [],
      tombstoned,
    });
  }
  return reports;
}

/** What the audit row keeps of the guard: nothing when nothing was rerouted. */
export function guardAudit(request: GuardRequest, reports: readonly RerouteReport[]): Record<string, unknown> {
  if (reports.length === 0 && request.dataOn === undefined) return {};
  return { reroutes: reports, dataOn: request.dataOn ?? null, forced: request.dataOn !== undefined };
}

/** The cluster serves the rerouted orgs (it is their new cluster). */
function servedChanges(r: Reroute): MarkerChange[] {
  return [
    ...r.ranges.map((s): MarkerChange => ({ op: 'clear-range-markers', lo: s.lo, hi: s.hi })),
    ...(r.orgIds.length > 0 ? [{ op: 'serve-orgs', orgIds: r.orgIds } as const] : []),
  ];
}

/** The cluster stops serving the rerouted orgs; of the ranges' pinned orgs, it keeps those pinned to it. */
function notServedChanges(r: Reroute, clusterId: string): MarkerChange[] {
  return [
    ...r.ranges.map(
      (s): MarkerChange => ({
        op: 'mark-range-moved',
        lo: s.lo,
        hi: s.hi,
        stillServed: r.pins.filter((p) => p.clusterId === clusterId && p.orgId >= s.lo && p.orgId <= s.hi).map((p) => p.orgId),
      }),
    ),
    ...(r.orgIds.length > 0 ? [{ op: 'mark-orgs-moved', orgIds: r.orgIds } as const] : []),
  ];
}

function markersError(clusterId: string, cause: unknown, why: string) {
  if (sqlState(cause) === '42883' || sqlState(cause) === '42P01') {
    return new TenantSchemaError(`cluster '${clusterId}' has no ownership markers (orgplane_mark_range_moved): ${why}`, {
      details: { clusterId },
      cause,
    });
  }
  return new ClusterUnreachableError(clusterId, {
    what: 'updated',
    cause,
    hint: `${why}: check that its primary is up, then retry; nothing was changed`,
  });
}
