import * as Flags from '@oclif/core/flags';
import type { RangesResult } from '@orgplane/control-plane';
import { OrgplaneCommand } from '../../baseCommand.js';
import { orgIdFlag, reasonFlag } from '../../flags.js';
import { formatTable } from '../../table.js';

/** The control plane's answer: the new version and the whole range list. */
export type ShardsSplitResult = RangesResult;

export default class ShardsSplit extends OrgplaneCommand<ShardsSplitResult> {
  static override summary = 'Split the range holding an org id into [lo, at-1] and [at, hi], both on the same cluster.';
  static override description =
    'Splitting moves no data: both halves stay on the cluster that served the range. Assign a half elsewhere with `shards assign` once its orgs have moved.';
  static override examples = [
    '<%= config.bin %> shards split --at 5000',
    '<%= config.bin %> shards split --at 5000 --expected-version 7 --reason "prepare primary-4"',
  ];
  static override flags = {
    at: orgIdFlag({ description: 'first org id of the new upper range', required: true }),
    'expected-version': Flags.integer({ description: 'refuse (409) unless the map is still at this version', min: 0 }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<ShardsSplitResult> {
    const { flags } = await this.parse(ShardsSplit);
    return this.api().send<ShardsSplitResult>('POST', '/v1/shard-map/split', {
      at: flags.at,
      expectedVersion: flags['expected-version'],
      reason: flags.reason,
    });
  }

  protected render(result: ShardsSplitResult): void {
    this.log(formatTable(result.ranges as unknown as Record<string, unknown>[], ['lo', 'hi', 'clusterId']));
    this.log(`\nconfig version ${result.version}`);
  }
}
