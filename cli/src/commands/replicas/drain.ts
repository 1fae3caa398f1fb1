import * as Args from '@oclif/core/args';
import type { ReplicaChangeDoc } from '@orgplane/control-plane/api';
import { OrgplaneCommand } from '../../baseCommand.js';
import { reasonFlag } from '../../flags.js';

export type ReplicasDrainResult = ReplicaChangeDoc;

export default class ReplicasDrain extends OrgplaneCommand<ReplicasDrainResult> {
  static override summary = 'Take a replica out of rotation (state draining): runtimes stop reading from it at once. Audited.';
  static override examples = [
    '<%= config.bin %> replicas drain primary-1-replica-1 --reason "disk swap"',
    '<%= config.bin %> replicas drain primary-1-replica-1 --json',
  ];
  static override args = {
    replica: Args.string({ description: 'the replica id, as `replicas list` shows it', required: true }),
  };
  static override flags = { reason: reasonFlag };

  protected async execute(): Promise<ReplicasDrainResult> {
    const { args, flags } = await this.parse(ReplicasDrain);
    return this.api().send<ReplicasDrainResult>('POST', `/v1/replicas/${encodeURIComponent(args.replica)}/drain`, { reason: flags.reason });
  }

  protected render(r: ReplicasDrainResult): void {
    this.log(`${r.replica.id} drained: out of rotation (state ${r.replica.state}; config version ${r.version})`);
  }
}
