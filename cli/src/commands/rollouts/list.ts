import { OrgplaneCommand } from '../../baseCommand.js';
import { formatRolloutList } from '../../rollouts/render.js';
import type { Rollout } from '../../rollouts/types.js';

export interface RolloutsListResult {
  rollouts: Rollout[];
}

export default class RolloutsList extends OrgplaneCommand<RolloutsListResult> {
  static override summary = 'List every rollout with its status, stage and percentage.';
  static override examples = ['<%= config.bin %> rollouts list', '<%= config.bin %> rollouts list --json'];

  protected async execute(): Promise<RolloutsListResult> {
    await this.parse(RolloutsList);
    return this.api().get<RolloutsListResult>('/v1/rollouts');
  }

  protected render(result: RolloutsListResult): void {
    this.log(formatRolloutList(result.rollouts));
  }
}
