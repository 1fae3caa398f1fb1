import { OrgplaneCommand } from '../../baseCommand.js';
import type { CohortSummary } from '../../rollouts/types.js';
import { formatTable } from '../../table.js';

export interface CohortsListResult {
  cohorts: CohortSummary[];
}

export default class CohortsList extends OrgplaneCommand<CohortsListResult> {
  static override summary = 'List the cohorts (pilot selections) with their sizes and seeds.';
  static override examples = ['<%= config.bin %> cohorts list', '<%= config.bin %> cohorts list --json'];

  protected async execute(): Promise<CohortsListResult> {
    await this.parse(CohortsList);
    return this.api().get<CohortsListResult>('/v1/cohorts');
  }

  protected render(result: CohortsListResult): void {
    if (result.cohorts.length === 0) {
      this.log('no cohorts yet: select one with `orgplane pilot select --count 500 --seed 1`');
      return;
    }
    this.log(formatTable(result.cohorts as unknown as Record<string, unknown>[], ['name', 'size', 'seed', 'createdAt']));
  }
}
