import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../../baseCommand.js';
import { labDir } from '../../../context.js';
import type { LabReplicaResult } from '../../../lab/index.js';

export type { LabReplicaResult };

export default class LabReplicaPauseReplay extends OrgplaneCommand<LabReplicaResult> {
  static override summary =
    'Pause WAL replay on a lab replica: it keeps receiving WAL but falls behind (the health checker reports it lagging, then unhealthy).';
  static override examples = [
    '<%= config.bin %> lab replica pause-replay primary-1-replica-1',
    '<%= config.bin %> lab replica pause-replay primary-1-replica-1 --json',
  ];
  static override args = {
    replica: Args.string({ description: 'the replica id, as `lab status` lists it', required: true }),
  };
  static override flags = {
    dir: Flags.string({ description: 'lab directory', hidden: true }),
  };

  protected async execute(): Promise<LabReplicaResult> {
    const { args, flags } = await this.parse(LabReplicaPauseReplay);
    const { labReplica } = await import('../../../lab/index.js');
    return labReplica({ dir: labDir(flags.dir), replica: args.replica, action: 'pause-replay' });
  }

  protected render(result: LabReplicaResult): void {
    this.log(`${result.replica}: ${result.running ? 'running' : 'stopped'}${result.replay ? `, replay ${result.replay}` : ''}`);
  }
}
