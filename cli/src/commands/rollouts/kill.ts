import { yesFlag } from '../../flags.js';
import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
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
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = TransitionCommand.args;
  static override flags = { yes: yesFlag };
  protected readonly transition: Transition = 'kill';

  protected override confirmation(flag: string): string {
    return `Kill ${flag}? It turns off for every org, pilot included.`;
  }
}
