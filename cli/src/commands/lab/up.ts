import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { labDir } from '../../context.js';
import type { LabUpResult } from '../../lab/index.js';
import { stepRunner } from '../../lab/liveSteps.js';
import { renderLabStatus } from './status.js';

export type { LabUpResult };

export default class LabUp extends OrgplaneCommand<LabUpResult> {
  static override summary = 'Start the local lab: a control DB, clusters with streaming replicas, seeded orgs, and the control plane.';
  static override description =
    'Everything runs in the background under ./.orgplane/lab and needs nothing but `npm ci`. Running it again reports what runs and restarts whatever stopped.';
  static override examples = [
    '<%= config.bin %> lab up',
    '<%= config.bin %> lab up --orgs 100000 --clusters 3 --replicas 1',
    '<%= config.bin %> lab up --json',
  ];
  static override flags = {
    // No oclif defaults: a plain `lab up` must reuse an existing lab of any size. The
    // defaults (10000 / 3 / 1) apply only when a new lab is created.
    orgs: Flags.integer({ description: 'synthetic orgs to seed in a new lab (1..1000000) [default: 10000]' }),
    clusters: Flags.integer({ description: 'Postgres clusters in a new lab (1..10) [default: 3]' }),
    replicas: Flags.integer({ description: 'streaming replicas per cluster in a new lab (0..3) [default: 1]' }),
    dir: Flags.string({ description: 'lab directory', hidden: true }),
  };

  protected async execute(): Promise<LabUpResult> {
    const { flags } = await this.parse(LabUp);
    const { labUp } = await import('../../lab/index.js');
    return labUp({
      dir: labDir(flags.dir),
      orgs: flags.orgs,
      clusters: flags.clusters,
      replicas: flags.replicas,
      runSteps: stepRunner(this.jsonEnabled()),
    });
  }

  protected render(result: LabUpResult): void {
    this.log(result.alreadyRunning ? 'The lab is already running.' : `The lab is up (started: ${result.started.join(', ') || 'nothing'}).`);
    renderLabStatus(result, (line) => this.log(line));
    this.log('\nTry: orgplane shards list, orgplane orgs locate 42, orgplane lab status --json');
  }
}
