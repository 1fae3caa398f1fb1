import * as Flags from '@oclif/core/flags';
import type { RangesResult } from '@orgplane/control-plane';
import { OrgplaneCommand } from '../../baseCommand.js';
import { orgIdRangeFlag, reasonFlag } from '../../flags.js';
import { formatTable } from '../../table.js';

/** The control plane's answer: the new version and the whole range list. */
export type ShardsMergeResult = RangesResult;

export default class ShardsMerge extends OrgplaneCommand<ShardsMergeResult> {
  static override summary = 'Merge adjacent ranges on one cluster into one range.';
  static override description =
    'Merging moves no data and reroutes no org: every range in the span must already be on the same cluster. `lo` must start a range and `hi` end a later one (see `shards list`).';
  static override examples = [
    '<%= config.bin %> shards merge --range 0-6666',
    '<%= config.bin %> shards merge --range 0-6666 --expected-version 9 --reason "undo the split" --json',
  ];
  static override flags = {
    range: orgIdRangeFlag({ description: 'inclusive org-id span to make one range, as <lo>-<hi>', required: true }),
    'expected-version': Flags.integer({ description: 'refuse (409) unless the map is still at this version', min: 0 }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<ShardsMergeResult> {
    const { flags } = await this.parse(ShardsMerge);
    const { lo, hi } = flags.range;
    return this.api().send<ShardsMergeResult>('POST', '/v1/shard-map/merge', {
      lo,
      hi,
      expectedVersion: flags['expected-version'],
      reason: flags.reason,
    });
  }

  protected render(result: ShardsMergeResult): void {
    this.log(formatTable(result.ranges as unknown as Record<string, unknown>[], ['lo', 'hi', 'clusterId']));
    this.log(`\nconfig version ${result.version}`);
  }
}
