import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { COHORT_PAGE_LIMIT_MAX } from '@orgplane/control-plane/api/rules';
import { OrgplaneCommand } from '../../baseCommand.js';
import { cohortPath } from '../../rollouts/api.js';
import { formatStrata } from '../../rollouts/render.js';
import type { CohortPage } from '../../rollouts/types.js';

/** The cohort's strata and one page of its org ids (all of them: `cohorts export`). */
export type CohortsShowResult = CohortPage;

export default class CohortsShow extends OrgplaneCommand<CohortsShowResult> {
  static override summary = 'Show a cohort: its size, seed, strata and a page of its org ids.';
  static override examples = [
    '<%= config.bin %> cohorts show pilot-2026-11',
    '<%= config.bin %> cohorts show pilot-2026-11 --limit 20 --after 1500 --json',
  ];
  static override args = {
    name: Args.string({ description: 'the cohort name, from `orgplane cohorts list`', required: true }),
  };
  static override flags = {
    limit: Flags.integer({ description: 'how many org ids', default: 50, min: 1, max: COHORT_PAGE_LIMIT_MAX }),
    after: Flags.integer({ description: 'only org ids above this one (paging)', min: 0 }),
  };

  protected async execute(): Promise<CohortsShowResult> {
    const { args, flags } = await this.parse(CohortsShow);
    return this.api().get<CohortPage>(cohortPath(args.name), { limit: flags.limit, after: flags.after });
  }

  protected render(result: CohortsShowResult): void {
    this.log(`cohort ${result.name}: ${result.size} orgs${result.seed === null ? '' : ` (seed ${result.seed})`}\n`);
    if (result.strata.length > 0) this.log(`${formatStrata(result.strata)}\n`);
    const more =
      result.orgIds.length < result.size ? ` (first ${result.orgIds.length}; all of them: orgplane cohorts export ${result.name})` : '';
    this.log(`org ids${more}:`);
    this.log(result.orgIds.join(', '));
  }
}
