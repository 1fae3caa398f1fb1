import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import type { WireCluster } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { postgresUrlFlag, reasonFlag } from '../../flags.js';

export interface ReplicasAddResult {
  version: number;
  cluster: WireCluster;
}

export default class ReplicasAdd extends OrgplaneCommand<ReplicasAddResult> {
  static override summary = "Register a streaming replica of a cluster's primary. It takes reads once the health checker finds it healthy.";
  static override examples = [
    '<%= config.bin %> replicas add primary-1-replica-3 --cluster primary-1 --url postgres://app:PASSWORD@db1-r3:5432/app',
  ];
  static override args = {
    replica: Args.string({ description: 'the new replica id (lower-case letters, digits, dashes)', required: true }),
  };
  static override flags = {
    cluster: Flags.string({ description: 'the cluster it replicates', required: true }),
    url: postgresUrlFlag({ description: 'postgres:// URL of the replica (the password is stored, never shown)', required: true }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<ReplicasAddResult> {
    const { args, flags } = await this.parse(ReplicasAdd);
    return this.api().send<ReplicasAddResult>('POST', `/v1/clusters/${encodeURIComponent(flags.cluster)}/replicas`, {
      id: args.replica,
      url: flags.url,
      reason: flags.reason,
    });
  }

  protected render(r: ReplicasAddResult): void {
    this.log(`${r.cluster.id} now has replicas ${r.cluster.replicas.map((x) => x.id).join(', ')} (config version ${r.version})`);
  }
}
