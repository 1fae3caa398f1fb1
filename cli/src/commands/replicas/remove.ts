import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import type { ReplicaListDoc } from '@orgplane/control-plane/api';
import type { WireCluster } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { CliError, ExitCode } from '../../errors.js';
import { reasonFlag, yesFlag } from '../../flags.js';

export interface ReplicasRemoveResult {
  version: number;
  cluster: WireCluster;
}

export default class ReplicasRemove extends OrgplaneCommand<ReplicasRemoveResult> {
  static override summary = 'Unregister a replica: runtimes stop reading from it and end their pools on it.';
  static override examples = [
    '<%= config.bin %> replicas remove primary-1-replica-3 --yes',
    '<%= config.bin %> replicas remove primary-1-replica-3 --cluster primary-1 --reason decommissioned --yes --json',
  ];
  static override args = {
    replica: Args.string({ description: 'the replica id', required: true }),
  };
  static override flags = {
    cluster: Flags.string({ description: 'its cluster (default: looked up)' }),
    reason: reasonFlag,
    yes: yesFlag,
  };

  protected async execute(): Promise<ReplicasRemoveResult> {
    const { args, flags } = await this.parse(ReplicasRemove);
    const api = this.api();
    let cluster = flags.cluster;
    if (cluster === undefined) {
      const { replicas } = await api.get<ReplicaListDoc>('/v1/replicas');
      cluster = replicas.find((r) => r.id === args.replica)?.clusterId;
      if (cluster === undefined) {
        throw new CliError(
          'REPLICA_NOT_FOUND',
          `replica '${args.replica}' does not exist`,
          'list them with `orgplane replicas list`',
          ExitCode.notFound,
        );
      }
    }
    await this.confirm(`Remove replica ${args.replica} of ${cluster}?`, flags.yes);
    const query = flags.reason ? `?reason=${encodeURIComponent(flags.reason)}` : '';
    return api.send<ReplicasRemoveResult>(
      'DELETE',
      `/v1/clusters/${encodeURIComponent(cluster)}/replicas/${encodeURIComponent(args.replica)}${query}`,
    );
  }

  protected render(r: ReplicasRemoveResult): void {
    this.log(`${r.cluster.id} replicas: ${r.cluster.replicas.map((x) => x.id).join(', ') || 'none'} (config version ${r.version})`);
  }
}
