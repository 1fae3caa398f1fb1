import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../../baseCommand.js';
import { labDir } from '../../../context.js';
import type { LabReplicaResult } from '../../../lab/index.js';

export type { LabReplicaResult };

export default class LabReplicaStop extends OrgplaneCommand<LabReplicaResult> {
  static override summary = "Stop a lab replica's Postgres server (the health checker reports it unreachable).";
  static override examples = [
    '<%= config.bin %> lab replica stop primary-1-replica-1',
    '<%= config.bin %> lab replica stop primary-1-replica-1 --json',
  ];
  static override args = {
    replica: Args.string({ description: 'the replica id, as `lab status` lists it', required: true }),
  };
  static override flags = {
    dir: Flags.string({ description: 'lab directory', hidden: true }),
  };

  protected async execute(): Promise<LabReplicaResult> {
    const { args, flags } = await this.parse(LabReplicaStop);
    const { labReplica } = await import('../../../lab/index.js');
    return labReplica({ dir: labDir(flags.dir), replica: args.replica, action: 'stop' });
  }

  protected render(result: LabReplicaResult): void {
    this.log(`${result.replica}: ${result.running ? 'running' : 'stopped'}${result.replay ? `, replay ${result.replay}` : ''}`);
  }
}
