import { OrgplaneCommand } from '../../baseCommand.js';
import { listRunbooks, type RunbookSummary } from '../../runbooks.js';
import { formatTable } from '../../table.js';

export interface RunbooksListResult {
  runbooks: RunbookSummary[];
}

export default class RunbooksList extends OrgplaneCommand<RunbooksListResult> {
  static override summary = 'List the on-call runbooks.';
  static override examples = ['<%= config.bin %> runbooks list'];

  protected async execute(): Promise<RunbooksListResult> {
    await this.parse(RunbooksList);
    return { runbooks: listRunbooks() };
  }

  protected render(result: RunbooksListResult): void {
    this.log(formatTable(result.runbooks as unknown as Record<string, unknown>[], ['name', 'title']));
  }
}
