import type { WireRange } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { formatTable } from '../../table.js';

export interface ShardsListResult {
  version: number;
  ranges: WireRange[];
  placementCount: number;
}

export default class ShardsList extends OrgplaneCommand<ShardsListResult> {
  static override summary = 'Show the org-range shard map: which cluster serves each org-id range.';
  static override examples = ['<%= config.bin %> shards list', '<%= config.bin %> shards list --json'];

  protected async execute(): Promise<ShardsListResult> {
    await this.parse(ShardsList);
    return this.api().get<ShardsListResult>('/v1/shard-map');
  }

  protected render(result: ShardsListResult): void {
    this.log(formatTable(result.ranges as unknown as Record<string, unknown>[], ['lo', 'hi', 'clusterId']));
    this.log(`\nconfig version ${result.version}, ${result.placementCount} per-org placements`);
  }
}
