import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsResumeResult = Rollout;

export default class RolloutsResume extends TransitionCommand {
  static override summary = 'Resume a paused rollout: its gates run again from the current stage.';
  static override examples = [
    '<%= config.bin %> rollouts resume new-invoices --reason "latency bump was the CDN"',
    '<%= config.bin %> rollouts resume new-invoices --json',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = TransitionCommand.args;
  protected readonly transition: Transition = 'resume';
}
