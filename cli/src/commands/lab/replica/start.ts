import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../../baseCommand.js';
import { labDir } from '../../../context.js';
import type { LabReplicaResult } from '../../../lab/index.js';

export type { LabReplicaResult };

export default class LabReplicaStart extends OrgplaneCommand<LabReplicaResult> {
  static override summary = "Start a stopped lab replica's Postgres server again; it resumes streaming from its slot.";
  static override examples = [
    '<%= config.bin %> lab replica start primary-1-replica-1',
    '<%= config.bin %> lab replica start primary-1-replica-1 --json',
  ];
  static override args = {
    replica: Args.string({ description: 'the replica id, as `lab status` lists it', required: true }),
  };
  static override flags = {
    dir: Flags.string({ description: 'lab directory', hidden: true }),
  };

  protected async execute(): Promise<LabReplicaResult> {
    const { args, flags } = await this.parse(LabReplicaStart);
    const { labReplica } = await import('../../../lab/index.js');
    return labReplica({ dir: labDir(flags.dir), replica: args.replica, action: 'start' });
  }

  protected render(result: LabReplicaResult): void {
    this.log(`${result.replica}: ${result.running ? 'running' : 'stopped'}${result.replay ? `, replay ${result.replay}` : ''}`);
  }
}
