import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { orgIdArg, reasonFlag, yesFlag } from '../../flags.js';

/** The control plane's answer, with the org it was about. */
export interface OrgsUnpinResult {
  orgId: number;
  version: number;
}

export default class OrgsUnpin extends OrgplaneCommand<OrgsUnpinResult> {
  static override summary = "Remove an org's pin, so its range routes it again.";
  static override description =
    "Refused while a move of the org is unfinished, and when the pin's cluster is not its range's cluster (the org's rows are where the pin points: move it back first with `orgs move`).";
  static override examples = [
    '<%= config.bin %> orgs unpin 42 --yes',
    '<%= config.bin %> orgs unpin 42 --reason "no longer VIP" --yes --json',
  ];
  static override args = {
    orgId: orgIdArg({ description: 'the org id', required: true }),
  };
  static override flags = {
    'expected-version': Flags.integer({ description: 'refuse (409) unless the map is still at this version', min: 0 }),
    reason: reasonFlag,
    yes: yesFlag,
  };

  protected async execute(): Promise<OrgsUnpinResult> {
    const { args, flags } = await this.parse(OrgsUnpin);
    const { orgId } = args;
    await this.confirm(`Unpin org ${orgId}? Its range routes it from then on.`, flags.yes);
    const res = await this.api().send<{ version: number }>('DELETE', `/v1/placements/${orgId}`, {
      reason: flags.reason,
      expectedVersion: flags['expected-version'],
    });
    return { orgId, version: res.version };
  }

  protected render(r: OrgsUnpinResult): void {
    this.log(`org ${r.orgId} unpinned: its range routes it again (config version ${r.version})`);
  }
}
