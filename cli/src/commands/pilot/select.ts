import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { orgIdFileFlag, reasonFlag } from '../../flags.js';
import { formatStrata } from '../../rollouts/render.js';
import type { PilotSelection } from '../../rollouts/types.js';

/** The stored cohort and how each size x activity stratum is represented in it. */
export type PilotSelectResult = PilotSelection;

export default class PilotSelect extends OrgplaneCommand<PilotSelectResult> {
  static override summary = 'Select a pilot cohort: a stratified sample of orgs by size and recent activity, stored as a cohort.';
  static override description =
    "The same --seed over the same orgs gives the same cohort. The table shows each stratum's share of the cohort next to its share of the population. Use the cohort with `orgplane rollouts create --pilot-cohort <name>`.";
  static override examples = [
    '<%= config.bin %> pilot select --count 500 --seed 42 --name pilot-2026-11',
    '<%= config.bin %> pilot select --count 500 --seed 42 --name pilot-2026-11 --exclude vip-orgs.txt --json',
  ];
  static override flags = {
    count: Flags.integer({ description: 'how many orgs to select', required: true, min: 1 }),
    seed: Flags.integer({ description: 'the sampling seed; the same seed gives the same cohort', required: true, min: 0 }),
    name: Flags.string({ description: 'the cohort name (default: pilot-<seed>-<count>)' }),
    exclude: orgIdFileFlag({ description: 'a file of org ids never to select, one a line or comma separated' }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<PilotSelectResult> {
    const { flags } = await this.parse(PilotSelect);
    return this.api().send<PilotSelection>('POST', '/v1/pilot/select', {
      name: flags.name ?? `pilot-${flags.seed}-${flags.count}`,
      count: flags.count,
      seed: flags.seed,
      ...(flags.exclude === undefined ? {} : { exclude: flags.exclude }),
      ...(flags.reason === undefined ? {} : { reason: flags.reason }),
    });
  }

  protected render(result: PilotSelectResult): void {
    this.log(`cohort ${result.cohort.name}: ${result.cohort.size} orgs (seed ${result.cohort.seed})\n`);
    this.log(formatStrata(result.strata));
  }
}
