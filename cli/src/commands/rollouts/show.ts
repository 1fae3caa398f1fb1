import * as Args from '@oclif/core/args';
import { OrgplaneCommand } from '../../baseCommand.js';
import { rolloutPath } from '../../rollouts/api.js';
import { formatRollout } from '../../rollouts/render.js';
import type { Analysis, Rollout } from '../../rollouts/types.js';

/** The rollout with its stage plan and its latest analyses (newest first). */
export type RolloutsShowResult = Rollout & { analyses: Analysis[] };

export default class RolloutsShow extends OrgplaneCommand<RolloutsShowResult> {
  static override summary = 'Show a rollout: its stage plan, checks, current stage and latest analyses.';
  static override examples = ['<%= config.bin %> rollouts show new-invoices', '<%= config.bin %> rollouts show new-invoices --json'];
  static override args = {
    flag: Args.string({ description: 'the rollout flag, from `orgplane rollouts list`', required: true }),
  };

  protected async execute(): Promise<RolloutsShowResult> {
    const { args } = await this.parse(RolloutsShow);
    return this.api().get<RolloutsShowResult>(rolloutPath(args.flag));
  }

  protected render(result: RolloutsShowResult): void {
    this.log(formatRollout(result));
  }
}
