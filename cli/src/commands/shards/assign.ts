import * as Flags from '@oclif/core/flags';
import type { RangesResult } from '@orgplane/control-plane';
import { OrgplaneCommand } from '../../baseCommand.js';
import { orgIdRangeFlag, reasonFlag, yesFlag } from '../../flags.js';
import { formatTable } from '../../table.js';

/** The control plane's answer: the new version and the whole range list. */
export type ShardsAssignResult = RangesResult;

export default class ShardsAssign extends OrgplaneCommand<ShardsAssignResult> {
  static override summary = 'Route an org-id range to another cluster.';
  static override description =
    'This changes routing only, it copies no rows: use it for ranges with no orgs yet, or after their orgs were moved. `lo` must start a range and `hi` end one (split first).';
  static override examples = [
    '<%= config.bin %> shards assign --range 5000-6666 --to primary-3 --yes',
    '<%= config.bin %> shards assign --range 5000-6666 --to primary-3 --expected-version 8 --yes --json',
  ];
  static override flags = {
    range: orgIdRangeFlag({ description: 'inclusive org-id range, as <lo>-<hi>', required: true }),
    to: Flags.string({ description: 'id of the cluster that will serve the range', required: true }),
    'expected-version': Flags.integer({ description: 'refuse (409) unless the map is still at this version', min: 0 }),
    reason: reasonFlag,
    yes: yesFlag,
  };

  protected async execute(): Promise<ShardsAssignResult> {
    const { flags } = await this.parse(ShardsAssign);
    const { lo, hi } = flags.range;
    await this.confirm(`Route orgs ${lo}-${hi} to ${flags.to}? No rows are copied.`, flags.yes);
    return this.api().send<ShardsAssignResult>('POST', '/v1/shard-map/assign', {
      lo,
      hi,
      clusterId: flags.to,
      expectedVersion: flags['expected-version'],
      reason: flags.reason,
    });
  }

  protected render(result: ShardsAssignResult): void {
    this.log(formatTable(result.ranges as unknown as Record<string, unknown>[], ['lo', 'hi', 'clusterId']));
    this.log(`\nconfig version ${result.version}`);
  }
}
