import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsPauseResult = Rollout;

export default class RolloutsPause extends TransitionCommand {
  static override summary = 'Pause a rollout: it stays at its current percentage and no gate advances it.';
  static override examples = [
    '<%= config.bin %> rollouts pause new-invoices --reason "investigating a latency bump"',
    '<%= config.bin %> rollouts pause new-invoices --json',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = TransitionCommand.args;
  protected readonly transition: Transition = 'pause';
}
