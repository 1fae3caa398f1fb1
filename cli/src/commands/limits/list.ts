import type { WireRateLimitPolicy } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { guardNameFlag, orgIdFlag } from '../../flags.js';
import { formatTable } from '../../table.js';

export interface LimitsListResult {
  version: number;
  policies: WireRateLimitPolicy[];
}

export default class LimitsList extends OrgplaneCommand<LimitsListResult> {
  static override summary = 'List rate-limit policies: the defaults per tier, then the overrides per org.';
  static override description =
    "A request of org O (tier T: the org's plan), user U and route class C is checked against, for each subject (org, user) and for each of C and `all`: O's override, else T's policy, else the `default` tier's.";
  static override examples = [
    '<%= config.bin %> limits list',
    '<%= config.bin %> limits list --org 42 --json',
    '<%= config.bin %> limits list --tier enterprise',
  ];
  static override flags = {
    tier: guardNameFlag({ description: "only this tier's defaults" }),
    org: orgIdFlag({ description: "only this org's overrides" }),
  };

  protected async execute(): Promise<LimitsListResult> {
    const { flags } = await this.parse(LimitsList);
    return this.api().get<LimitsListResult>('/v1/limits', { tier: flags.tier, orgId: flags.org });
  }

  protected render(r: LimitsListResult): void {
    if (r.policies.length === 0) this.log('no rate-limit policies: nothing is limited');
    else {
      const rows = r.policies.map((p) => ({
        owner: p.tier !== null ? `tier ${p.tier}` : `org ${p.orgId}`,
        subject: p.subject,
        routeClass: p.routeClass,
        limit: `${p.limit}/${p.windowSeconds}s`,
        burst: p.burst,
        shadow: p.shadow ? 'shadow' : '',
      }));
      this.log(formatTable(rows, ['owner', 'subject', 'routeClass', 'limit', 'burst', 'shadow']));
    }
    this.log(`\nconfig version ${r.version}`);
  }
}
