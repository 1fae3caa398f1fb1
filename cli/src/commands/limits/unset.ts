import * as Flags from '@oclif/core/flags';
import { ROUTE_CLASS_ALL } from '@orgplane/control-plane/api/rules';
import type { WireRateLimitPolicy } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { guardNameFlag, orgIdFlag, reasonFlag, subjectFlag, yesFlag } from '../../flags.js';
import { limitPath } from '../../guards/owner.js';

/** The version the removal made, and the policy removed. */
export interface LimitsUnsetResult {
  version: number;
  policy: WireRateLimitPolicy;
}

export default class LimitsUnset extends OrgplaneCommand<LimitsUnsetResult> {
  static override summary = "Remove a tier's default rate limit or an org's override.";
  static override description = "Without an org override the org's tier applies again; without a tier policy, the `default` tier's.";
  static override examples = [
    '<%= config.bin %> limits unset --org 42 --subject user --route-class writes --yes',
    '<%= config.bin %> limits unset --tier starter --subject org --yes --json',
  ];
  static override flags = {
    tier: guardNameFlag({ description: "a tier's default", exclusive: ['org'] }),
    org: orgIdFlag({ description: "one org's override", exclusive: ['tier'] }),
    subject: subjectFlag({ description: 'org or user', default: 'org' }),
    'route-class': guardNameFlag({ description: 'the route class', default: ROUTE_CLASS_ALL }),
    'expected-version': Flags.integer({ description: 'refuse (409) unless the config is still at this version', min: 0 }),
    reason: reasonFlag,
    yes: yesFlag,
  };

  protected async execute(): Promise<LimitsUnsetResult> {
    const { flags } = await this.parse(LimitsUnset);
    const path = limitPath(flags, flags.subject, flags['route-class']);
    await this.confirm(
      `Remove the ${flags.subject} rate limit on ${flags['route-class']} of ${flags.tier !== undefined ? `tier ${flags.tier}` : `org ${flags.org}`}?`,
      flags.yes,
    );
    const query = new URLSearchParams();
    if (flags.reason !== undefined) query.set('reason', flags.reason);
    if (flags['expected-version'] !== undefined) query.set('expectedVersion', String(flags['expected-version']));
    return this.api().send<LimitsUnsetResult>('DELETE', query.size === 0 ? path : `${path}?${query}`);
  }

  protected render(r: LimitsUnsetResult): void {
    const p = r.policy;
    this.log(
      `removed the ${p.subject} limit on ${p.routeClass} of ${p.tier !== null ? `tier ${p.tier}` : `org ${p.orgId}`} (config version ${r.version})`,
    );
  }
}
