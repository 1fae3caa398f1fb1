import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsResumeResult = Rollout;

export default class RolloutsResume extends TransitionCommand {
  static override summary = 'Resume a paused rollout: its gates run again from the current stage.';
  static override examples = [
    '<%= config.bin %> rollouts resume new-invoices --reason "latency bump was the CDN"',
    '<%= config.bin %> rollouts resume new-invoices --json',
  ];
  // oclif copies a command's own static args and flags only: name them here.
  static override args = TransitionCommand.args;
  static override flags = TransitionCommand.flags;
  protected readonly transition: Transition = 'resume';
}
