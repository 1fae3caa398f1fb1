import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsPauseResult = Rollout;

export default class RolloutsPause extends TransitionCommand {
  static override summary = 'Pause a rollout: it stays at its current percentage and no gate advances it.';
  static override examples = [
    '<%= config.bin %> rollouts pause new-invoices --reason "investigating a latency bump"',
    '<%= config.bin %> rollouts pause new-invoices --json',
  ];
  // oclif copies a command's own static args and flags only: name them here.
  static override args = TransitionCommand.args;
  static override flags = TransitionCommand.flags;
  protected readonly transition: Transition = 'pause';
}
