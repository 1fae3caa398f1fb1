import * as Args from '@oclif/core/args';
import type { ReplicaChangeDoc } from '@orgplane/control-plane/api';
import { OrgplaneCommand } from '../../baseCommand.js';
import { reasonFlag } from '../../flags.js';

export type ReplicasUndrainResult = ReplicaChangeDoc;

export default class ReplicasUndrain extends OrgplaneCommand<ReplicasUndrainResult> {
  static override summary = 'Put a drained replica back: it takes reads again once its probes say healthy. Audited.';
  static override examples = [
    '<%= config.bin %> replicas undrain primary-1-replica-1 --reason "disk swap"',
    '<%= config.bin %> replicas undrain primary-1-replica-1 --json',
  ];
  static override args = {
    replica: Args.string({ description: 'the replica id, as `replicas list` shows it', required: true }),
  };
  static override flags = { reason: reasonFlag };

  protected async execute(): Promise<ReplicasUndrainResult> {
    const { args, flags } = await this.parse(ReplicasUndrain);
    return this.api().send<ReplicasUndrainResult>('POST', `/v1/replicas/${encodeURIComponent(args.replica)}/undrain`, {
      reason: flags.reason,
    });
  }

  protected render(r: ReplicasUndrainResult): void {
    this.log(`${r.replica.id} undrained (state ${r.replica.state}; config version ${r.version})`);
  }
}
