// Cohorts: pilot selection stores one, rollouts name one as their pilot. A cohort is
// not config until a rollout names it, so creating one is audited (`cohort.create`)
// without a config version.
import { ownerLookup } from '@orgplane/runtime/rules';
import { MAX_PILOT_COUNT } from '../../api/rules.js';
import type { Database } from '../../db/Database.js';
import { AlreadyExistsError, CohortNotFoundError, InvalidInputError } from '../../errors.js';
import { requireOrgId } from '../../lib/orgId.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import type { CohortRecord, CohortSummary, StratumReport } from './CohortStore.js';
import type { OrgStatsSource } from './OrgStatsSource.js';
import { selectPilot } from './PilotSelector.js';
import { TenantOrgStatsSource } from './TenantOrgStatsSource.js';

export interface SelectPilotInput {
  name: string;
  count: number;
  seed: number;
  exclude?: unknown[] | undefined;
  reason?: string | undefined;
}

export interface PilotSelectResult {
  cohort: { name: string; size: number; seed: number };
  strata: StratumReport[];
}

/** GET /v1/cohorts/:name: the cohort and one page of its members. */
export interface CohortPage extends CohortRecord {
  orgIds: number[];
}

export interface CohortServiceOptions {
  /** The population; by default every serving cluster's tenant DB. */
  statsSource?: () => Promise<OrgStatsSource>;
  now?: () => Date;
}

export class CohortService {
  private readonly now: () => Date;

  constructor(
    private readonly db: Database<Stores>,
    private readonly options: CohortServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async list(): Promise<CohortSummary[]> {
    return this.db.stores.cohorts.list();
  }

  async page(name: string, page: { afterOrgId?: number | undefined; limit: number }): Promise<CohortPage> {
    return this.db.transaction(
      async (stores) => {
        const cohort = await stores.cohorts.get(name);
        if (!cohort) throw new CohortNotFoundError(name);
        return { ...cohort, orgIds: await stores.cohorts.members(name, page) };
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  /** Draw a stratified sample of every org and store it as cohort `name`. */
  async selectPilot(actor: Actor, input: SelectPilotInput): Promise<PilotSelectResult> {
    if (!Number.isSafeInteger(input.count) || input.count < 1 || input.count > MAX_PILOT_COUNT) {
      throw new InvalidInputError(`count must be an integer in 1..${MAX_PILOT_COUNT}`, {
        details: [{ field: 'count', message: `must be an integer in 1..${MAX_PILOT_COUNT}` }],
      });
    }
    if (!Number.isSafeInteger(input.seed) || input.seed < 0) {
      throw new InvalidInputError('seed must be a non-negative integer', {
        details: [{ field: 'seed', message: 'must be a non-negative integer' }],
      });
    }
    const exclude = (input.exclude ?? []).map((id, i) => requireOrgId(id, `exclude[${i}]`));
    // Fail fast on a taken name, before reading every cluster.
    if (await this.db.stores.cohorts.get(input.name)) throw this.taken(input.name);

    const source = await (this.options.statsSource ?? (() => this.tenantSource()))();
    const selection = await selectPilot(source, { count: input.count, seed: input.seed, exclude, now: this.now() });
    if (selection.orgIds.length < input.count) {
      throw new InvalidInputError(`only ${selection.population} orgs are eligible, fewer than count ${input.count}`, {
        details: [{ field: 'count', message: `must be at most ${selection.population}` }],
        hint: 'ask for fewer orgs, or exclude fewer',
      });
    }
    return this.db.transaction(async (stores) => {
      const cohort = await stores.cohorts.insert({
        name: input.name,
        seed: input.seed,
        strata: selection.strata,
        orgIds: selection.orgIds,
      });
      const summary = { name: cohort.name, size: cohort.size, seed: cohort.seed };
      await stores.audit.insert({
        actor,
        action: 'cohort.create',
        reason: input.reason ?? null,
        before: null,
        after: { ...summary, count: input.count, excluded: exclude.length, strata: selection.strata },
        version: null,
      });
      return { cohort: summary, strata: selection.strata };
    });
  }

  /** Every non-retired cluster: a draining one still serves orgs until they move off. */
  private async tenantSource(): Promise<OrgStatsSource> {
    return this.db.transaction(
      async (stores) => {
        const clusters = (await stores.clusters.list()).filter((c) => c.state !== 'retired');
        const owner = ownerLookup(await stores.ranges.list(), await stores.placements.listAll());
        return new TenantOrgStatsSource(clusters, owner);
      },
      { isolation: 'repeatable read', readOnly: true },
    );
  }

  private taken(name: string): AlreadyExistsError {
    return new AlreadyExistsError(`cohort '${name}' already exists`, {
      hint: 'cohorts never change once stored: choose another name',
      details: { cohort: name },
    });
  }
}
