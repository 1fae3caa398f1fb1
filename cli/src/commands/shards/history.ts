import * as Flags from '@oclif/core/flags';
import type { HistoryEntry } from '@orgplane/control-plane';
import { HISTORY_LIMIT_MAX } from '@orgplane/control-plane/api/rules';
import { OrgplaneCommand } from '../../baseCommand.js';
import { formatTable } from '../../table.js';

export interface ShardsHistoryResult {
  changes: HistoryEntry[];
}

export default class ShardsHistory extends OrgplaneCommand<ShardsHistoryResult> {
  static override summary = 'List the changes to the shard map and cluster registry, newest first.';
  static override examples = ['<%= config.bin %> shards history', '<%= config.bin %> shards history --limit 5 --json'];
  static override flags = {
    limit: Flags.integer({ description: 'how many changes', default: 20, min: 1, max: HISTORY_LIMIT_MAX }),
    before: Flags.integer({ description: 'only changes older than this version', min: 1 }),
  };

  protected async execute(): Promise<ShardsHistoryResult> {
    const { flags } = await this.parse(ShardsHistory);
    return this.api().get<ShardsHistoryResult>('/v1/shard-map/history', { limit: flags.limit, before: flags.before });
  }

  protected render(result: ShardsHistoryResult): void {
    this.log(formatTable(result.changes as unknown as Record<string, unknown>[], ['version', 'action', 'actor', 'reason', 'createdAt']));
  }
}
