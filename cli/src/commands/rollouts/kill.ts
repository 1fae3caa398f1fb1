import { type Transition, TransitionCommand, yesFlag } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsKillResult = Rollout;

export default class RolloutsKill extends TransitionCommand {
  static override summary = 'Kill switch: turn a flag off for every org, pilot included, within a second.';
  static override description =
    'The rollout keeps its plan and stage (status killed); `rollouts resume` turns it back on where it was. Asks first; pass --yes in scripts.';
  static override examples = [
    '<%= config.bin %> rollouts kill new-invoices --reason "data corruption suspected" --yes',
    '<%= config.bin %> rollouts kill new-invoices --yes --json',
  ];
  // oclif copies a command's own static args and flags only: name them here.
  static override args = TransitionCommand.args;
  static override flags = { ...TransitionCommand.flags, ...yesFlag };
  protected readonly transition: Transition = 'kill';

  protected override confirmation(flag: string): string {
    return `Kill ${flag}? It turns off for every org, pilot included.`;
  }
}
