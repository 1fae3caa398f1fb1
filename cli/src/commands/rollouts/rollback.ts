import { yesFlag } from '../../flags.js';
import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsRollbackResult = Rollout;

export default class RolloutsRollback extends TransitionCommand {
  static override summary = 'Roll a rollout back one stage (from the first stage, to off).';
  static override description =
    'Orgs that only the dropped stage covered lose the flag at once in every runtime. The rollout is left paused, so no gate advances it straight back; from the first stage it is rolled_back and off for every org. Asks first; pass --yes in scripts.';
  static override examples = [
    '<%= config.bin %> rollouts rollback new-invoices --reason "error rate up at 25%" --yes',
    '<%= config.bin %> rollouts rollback new-invoices --yes --json',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = TransitionCommand.args;
  static override flags = { yes: yesFlag };
  protected readonly transition: Transition = 'rollback';

  protected override confirmation(flag: string): string {
    return `Roll ${flag} back one stage? Orgs in only this stage lose the flag now.`;
  }
}
