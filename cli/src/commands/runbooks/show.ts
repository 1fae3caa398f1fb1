import * as Args from '@oclif/core/args';
import { OrgplaneCommand } from '../../baseCommand.js';
import { type RunbookSummary, readRunbook } from '../../runbooks.js';

export type RunbooksShowResult = RunbookSummary & { markdown: string };

export default class RunbooksShow extends OrgplaneCommand<RunbooksShowResult> {
  static override summary = 'Print a runbook.';
  static override examples = ['<%= config.bin %> runbooks show shard-map'];
  static override args = {
    name: Args.string({ description: 'runbook name, from `orgplane runbooks list`', required: true }),
  };

  protected async execute(): Promise<RunbooksShowResult> {
    const { args } = await this.parse(RunbooksShow);
    return readRunbook(args.name);
  }

  protected render(result: RunbooksShowResult): void {
    this.log(result.markdown);
  }
}
