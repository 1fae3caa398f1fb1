import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import type { WireCluster } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { postgresUrlFlag, reasonFlag, replicaSpecFlag } from '../../flags.js';

export interface ClustersAddResult {
  version: number;
  cluster: WireCluster;
}

export default class ClustersAdd extends OrgplaneCommand<ClustersAddResult> {
  static override summary = 'Register a Postgres cluster (its primary and streaming replicas) with the control plane.';
  static override description =
    'It serves no org until the shard map assigns it a range (`shards assign`) or orgs move to it. URLs may carry passwords: they are stored and never shown back.';
  static override examples = [
    '<%= config.bin %> clusters add primary-4 --primary-url postgres://app:PASSWORD@db4:5432/app',
    '<%= config.bin %> clusters add primary-4 --primary-url postgres://app:PASSWORD@db4:5432/app --replica primary-4-replica-1=postgres://app:PASSWORD@db4r1:5432/app --state draining',
  ];
  static override args = {
    id: Args.string({ description: 'the cluster id (lower-case letters, digits, dashes)', required: true }),
  };
  static override flags = {
    'primary-url': postgresUrlFlag({ description: "postgres:// URL of the cluster's primary", required: true }),
    replica: replicaSpecFlag({ description: 'a streaming replica as <id>=<postgres url>; repeatable' }),
    state: Flags.string({ description: 'initial state', options: ['active', 'draining', 'retired'] }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<ClustersAddResult> {
    const { args, flags } = await this.parse(ClustersAdd);
    return this.api().send<ClustersAddResult>('POST', '/v1/clusters', {
      id: args.id,
      primary: { url: flags['primary-url'] },
      replicas: flags.replica ?? [],
      state: flags.state,
      reason: flags.reason,
    });
  }

  protected render(r: ClustersAddResult): void {
    const replicas = r.cluster.replicas.map((x) => x.id).join(', ') || 'no replicas';
    this.log(`cluster ${r.cluster.id} registered (${r.cluster.state}, ${replicas}; config version ${r.version})`);
  }
}
