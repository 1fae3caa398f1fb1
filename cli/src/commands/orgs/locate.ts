import type { OrgLocation } from '@orgplane/control-plane';
import { OrgplaneCommand } from '../../baseCommand.js';
import { orgIdArg } from '../../flags.js';

/** The control plane's answer, as it is. */
export type OrgsLocateResult = OrgLocation;

export default class OrgsLocate extends OrgplaneCommand<OrgsLocateResult> {
  static override summary = 'Show which cluster serves an org, and why (a per-org placement or its range).';
  static override examples = ['<%= config.bin %> orgs locate 42', '<%= config.bin %> orgs locate 42 --json'];
  static override args = {
    orgId: orgIdArg({ description: 'the org id', required: true }),
  };

  protected async execute(): Promise<OrgsLocateResult> {
    const { args } = await this.parse(OrgsLocate);
    return this.api().get<OrgsLocateResult>(`/v1/orgs/${args.orgId}/location`);
  }

  protected render(r: OrgsLocateResult): void {
    const why =
      r.source === 'placement' && r.placement
        ? `pinned (placement ${r.placement.state}, epoch ${r.placement.epoch})`
        : r.range
          ? `range ${r.range.lo}-${r.range.hi}`
          : r.source;
    this.log(`org ${r.orgId} -> ${r.clusterId}  (${why}; config version ${r.version})`);
  }
}
