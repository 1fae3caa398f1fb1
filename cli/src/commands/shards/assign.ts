import * as Flags from '@oclif/core/flags';
import type { RangesResult } from '@orgplane/control-plane';
import { OrgplaneCommand } from '../../baseCommand.js';
import { CliError, ExitCode } from '../../errors.js';
import { orgIdRangeFlag, reasonFlag, yesFlag } from '../../flags.js';
import { formatTable } from '../../table.js';

/** The control plane's answer: the new version, the whole range list, and what was rerouted (if anything). */
export type ShardsAssignResult = RangesResult;

export default class ShardsAssign extends OrgplaneCommand<ShardsAssignResult> {
  static override summary = 'Route an org-id range to another cluster.';
  static override description =
    'This changes routing only, it copies no rows: use it for ranges with no orgs yet, or after their orgs were moved. `lo` must start a range and `hi` end one (split first). The cluster serving the range now is asked whether it holds rows of its orgs (pinned orgs excepted): if it does, the assign is refused (ORG_DATA_WOULD_BE_STRANDED) and nothing changes; move the orgs first with `orgs move --from <cluster> --to <cluster> --range <lo>-<hi> --percent 100`. After a restore from backup onto the new cluster, --data-on <cluster> says the rows are there already: the assign goes ahead whatever the old cluster holds (or if it cannot be reached), is audited as forced, and needs --reason.';
  static override examples = [
    '<%= config.bin %> shards assign --range 5000-6666 --to primary-3 --yes',
    '<%= config.bin %> shards assign --range 5000-6666 --to primary-3 --expected-version 8 --yes --json',
    '<%= config.bin %> shards assign --range 0-999 --to primary-2 --data-on primary-2 --reason "restored 0-999 from backup onto primary-2" --yes',
  ];
  static override flags = {
    range: orgIdRangeFlag({ description: 'inclusive org-id range, as <lo>-<hi>', required: true }),
    to: Flags.string({ description: 'id of the cluster that will serve the range', required: true }),
    'data-on': Flags.string({
      description:
        "the rows of the range's orgs are already on this cluster (restored from a backup); must equal --to, needs --reason. Skips the check for rows on the old cluster",
    }),
    'expected-version': Flags.integer({ description: 'refuse (409) unless the map is still at this version', min: 0 }),
    reason: reasonFlag,
    yes: yesFlag,
  };

  protected async execute(): Promise<ShardsAssignResult> {
    const { flags } = await this.parse(ShardsAssign);
    const { lo, hi } = flags.range;
    const dataOn = flags['data-on'];
    if (dataOn !== undefined && !flags.reason?.trim()) {
      throw new CliError(
        'REASON_REQUIRED',
        '--data-on needs --reason: the audit log keeps why the rows were declared to be on the new cluster',
        'add --reason "restored <lo>-<hi> from backup onto <cluster>"',
        ExitCode.usage,
      );
    }
    await this.confirm(
      dataOn === undefined
        ? `Route orgs ${lo}-${hi} to ${flags.to}? No rows are copied.`
        : `Route orgs ${lo}-${hi} to ${flags.to}, declaring that their rows are already on ${dataOn}? Rows still on the old cluster are not checked and stay behind.`,
      flags.yes,
    );
    return this.api().send<ShardsAssignResult>('POST', '/v1/shard-map/assign', {
      lo,
      hi,
      clusterId: flags.to,
      dataOn,
      expectedVersion: flags['expected-version'],
      reason: flags.reason,
    });
  }

  protected render(result: ShardsAssignResult): void {
    this.log(formatTable(result.ranges as unknown as Record<string, unknown>[], ['lo', 'hi', 'clusterId']));
    for (const r of result.reroutes ?? []) {
      const spans = r.ranges.map((s) => `${s.lo}-${s.hi}`).join(', ');
      const found = r.orgsWithRowsOnFrom === null ? `${r.from} could not be read` : `${r.from} held rows of ${r.orgsWithRowsOnFrom} org(s)`;
      const marked = r.tombstoned
        ? `${r.from} now refuses them to stale maps`
        : `${r.from} was NOT marked: it still serves them to stale maps`;
      this.log(`\nrerouted ${spans} from ${r.from} to ${r.to}: ${found}; ${marked}`);
    }
    this.log(`\nconfig version ${result.version}`);
  }
}
