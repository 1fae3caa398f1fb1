import * as Flags from '@oclif/core/flags';
import { ROUTE_CLASS_ALL } from '@orgplane/control-plane/api/rules';
import type { WireRateLimitPolicy } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { guardNameFlag, orgIdFlag, rateFlag, reasonFlag, subjectFlag, windowFlag } from '../../flags.js';
import { limitPath } from '../../guards/owner.js';

export interface LimitsSetResult {
  version: number;
  policy: WireRateLimitPolicy;
}

export default class LimitsSet extends OrgplaneCommand<LimitsSetResult> {
  static override summary = "Set a tier's default rate limit or an org's override; running services apply it within a second.";
  static override description =
    'GCRA: --limit requests per --window, of which up to --burst (default: --limit) may come at once. --shadow counts and reports without refusing. An org override needs the org to exist on the cluster the map routes it to.';
  static override examples = [
    '<%= config.bin %> limits set --tier standard --subject org --limit 1200 --window 1m --burst 200',
    '<%= config.bin %> limits set --org 42 --subject user --route-class writes --limit 10 --window 1s --reason "abusive script"',
    '<%= config.bin %> limits set --tier enterprise --subject org --limit 20000 --window 1m --shadow --json',
  ];
  static override flags = {
    tier: guardNameFlag({ description: "a tier's default (an org's plan)", exclusive: ['org'] }),
    org: orgIdFlag({ description: "one org's override", exclusive: ['tier'] }),
    subject: subjectFlag({ description: 'count the whole org, or each user in it', default: 'org' }),
    'route-class': guardNameFlag({
      description: `the route class the service names (${ROUTE_CLASS_ALL}: every route together)`,
      default: ROUTE_CLASS_ALL,
    }),
    limit: rateFlag({ description: 'requests per window', required: true }),
    window: windowFlag({ description: 'the window: 60s, 1m, 1h (at most 24h)', required: true }),
    burst: rateFlag({ description: 'requests allowed at once (default: --limit)' }),
    shadow: Flags.boolean({ description: 'count and report, never refuse', default: false }),
    'expected-version': Flags.integer({ description: 'refuse (409) unless the config is still at this version', min: 0 }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<LimitsSetResult> {
    const { flags } = await this.parse(LimitsSet);
    return this.api().send<LimitsSetResult>('PUT', limitPath(flags, flags.subject, flags['route-class']), {
      limit: flags.limit,
      windowSeconds: flags.window,
      burst: flags.burst,
      shadow: flags.shadow,
      reason: flags.reason,
      expectedVersion: flags['expected-version'],
    });
  }

  protected render(r: LimitsSetResult): void {
    const p = r.policy;
    const owner = p.tier !== null ? `tier ${p.tier}` : `org ${p.orgId}`;
    this.log(
      `${owner}: ${p.subject} limit on ${p.routeClass} is ${p.limit} per ${p.windowSeconds}s, burst ${p.burst}${p.shadow ? ' (shadow)' : ''} (config version ${r.version})`,
    );
  }
}
