import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { labDir } from '../../context.js';
import { yesFlag } from '../../flags.js';
import type { LabDownResult } from '../../lab/index.js';
import { stepRunner } from '../../lab/liveSteps.js';

export type { LabDownResult };

export default class LabDown extends OrgplaneCommand<LabDownResult> {
  static override summary = 'Stop every process the lab started; --purge also deletes its data.';
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --purge --yes'];
  static override flags = {
    purge: Flags.boolean({ description: 'delete the lab data directory too', default: false }),
    yes: yesFlag,
    dir: Flags.string({ description: 'lab directory', hidden: true }),
  };

  protected async execute(): Promise<LabDownResult> {
    const { flags } = await this.parse(LabDown);
    const dir = labDir(flags.dir);
    if (flags.purge) await this.confirm(`Delete the lab and all its data in ${dir}?`, flags.yes);
    // The lab's modules (execa, embedded Postgres...) load when a lab command runs, not before.
    const { labDown } = await import('../../lab/index.js');
    return labDown({ dir, purge: flags.purge, runSteps: stepRunner(this.jsonEnabled()) });
  }

  protected render(result: LabDownResult): void {
    this.log(result.stopped.length ? `Stopped: ${result.stopped.join(', ')}` : 'Nothing was running.');
    if (result.purged) this.log('Lab data deleted.');
  }
}
