import * as Flags from '@oclif/core/flags';
import type { OrgLocation } from '@orgplane/control-plane';
import type { WirePlacement } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { ApiError } from '../../errors.js';
import { orgIdArg, reasonFlag } from '../../flags.js';

/** The org's pin; `changed` is false when it was pinned already (nothing was written). */
export interface OrgsPinResult {
  orgId: number;
  changed: boolean;
  version: number;
  placement: WirePlacement;
}

export default class OrgsPin extends OrgplaneCommand<OrgsPinResult> {
  static override summary = 'Pin an org to the cluster that holds it now, so later range changes do not reroute it.';
  static override description =
    'The pin always names the cluster the org is routed to at this moment: it never sends an org elsewhere (its rows would be stranded). To move an org, use `orgs move`. An org pinned already stays as it is.';
  static override examples = ['<%= config.bin %> orgs pin 42 --reason "VIP, keep on primary-1"', '<%= config.bin %> orgs pin 42 --json'];
  static override args = {
    orgId: orgIdArg({ description: 'the org id', required: true }),
  };
  static override flags = {
    'expected-version': Flags.integer({ description: 'refuse (409) unless the map is still at this version', min: 0 }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<OrgsPinResult> {
    const { args, flags } = await this.parse(OrgsPin);
    const { orgId } = args;
    const api = this.api();
    const here = await api.get<OrgLocation>(`/v1/orgs/${orgId}/location`);
    if (here.placement) return { orgId, changed: false, version: here.version, placement: here.placement };
    try {
      // At the version just read: if anything changed the map since, the pin is refused
      // rather than naming a cluster that may no longer hold the org.
      const res = await api.send<{ version: number; placement: WirePlacement }>('PUT', `/v1/placements/${orgId}`, {
        clusterId: here.clusterId,
        expectedVersion: flags['expected-version'] ?? here.version,
        reason: flags.reason,
      });
      return { orgId, changed: true, ...res };
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VERSION_CONFLICT' && flags['expected-version'] === undefined) {
        throw new ApiError(
          err.status,
          err.code,
          `the map changed while org ${orgId} was being pinned; nothing was pinned`,
          'run the command again',
          err.details,
        );
      }
      throw err;
    }
  }

  protected render(r: OrgsPinResult): void {
    const what = r.changed ? 'pinned to' : 'was already pinned to';
    this.log(
      `org ${r.orgId} ${what} ${r.placement.clusterId} (placement ${r.placement.state}, epoch ${r.placement.epoch}; config version ${r.version})`,
    );
  }
}
