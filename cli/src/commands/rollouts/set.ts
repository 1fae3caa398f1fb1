import * as Args from '@oclif/core/args';
import { OrgplaneCommand } from '../../baseCommand.js';
import { percentArg, reasonFlag } from '../../flags.js';
import { rolloutPath } from '../../rollouts/api.js';
import { formatRolloutLine } from '../../rollouts/render.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsSetResult = Rollout;

export default class RolloutsSet extends OrgplaneCommand<RolloutsSetResult> {
  static override summary = 'Set a rollout to a percentage by hand, overriding its stage plan.';
  static override description =
    'The stage becomes the last one whose percent is at most the one given. Bucketing is sticky: an org in at 10% stays in at 25%, and pilot members stay in at every percentage.';
  static override examples = [
    '<%= config.bin %> rollouts set new-invoices 25 --reason "hold at 25 over the weekend"',
    '<%= config.bin %> rollouts set new-invoices 0 --json',
  ];
  static override args = {
    flag: Args.string({ description: 'the rollout flag', required: true }),
    percent: percentArg({ description: 'a whole percentage from 0 to 100', required: true }),
  };
  static override flags = {
    reason: reasonFlag,
  };

  protected async execute(): Promise<RolloutsSetResult> {
    const { args, flags } = await this.parse(RolloutsSet);
    return this.api().send<Rollout>('POST', rolloutPath(args.flag, 'set'), { percent: args.percent, reason: flags.reason });
  }

  protected render(result: RolloutsSetResult): void {
    this.log(formatRolloutLine(result));
  }
}
