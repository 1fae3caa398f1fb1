import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import type { WireCluster } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { reasonFlag } from '../../flags.js';

export interface ClustersUpdateResult {
  version: number;
  cluster: WireCluster;
}

export default class ClustersUpdate extends OrgplaneCommand<ClustersUpdateResult> {
  static override summary = "Change a cluster's state: active, draining, or retired (refused while it still serves ranges or pins).";
  static override examples = [
    '<%= config.bin %> clusters update primary-4 --state draining --reason "hardware refresh"',
    '<%= config.bin %> clusters update primary-4 --state active --json',
  ];
  static override args = {
    id: Args.string({ description: 'the cluster id', required: true }),
  };
  static override flags = {
    state: Flags.string({ description: 'the new state', options: ['active', 'draining', 'retired'], required: true }),
    'expected-version': Flags.integer({ description: 'refuse (409) unless the config is still at this version', min: 0 }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<ClustersUpdateResult> {
    const { args, flags } = await this.parse(ClustersUpdate);
    return this.api().send<ClustersUpdateResult>('PATCH', `/v1/clusters/${encodeURIComponent(args.id)}`, {
      state: flags.state,
      reason: flags.reason,
      expectedVersion: flags['expected-version'],
    });
  }

  protected render(r: ClustersUpdateResult): void {
    this.log(`cluster ${r.cluster.id} is ${r.cluster.state} (config version ${r.version})`);
  }
}
