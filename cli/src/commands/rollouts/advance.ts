import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsAdvanceResult = Rollout;

export default class RolloutsAdvance extends TransitionCommand {
  static override summary = 'Move a rollout to its next stage (from off, into the first stage).';
  static override description =
    "Advancing by hand does not wait for the stage's minimum dwell or its SLO checks: look at `rollouts watch` first. The rollout runs (status running) in the new stage; at the last stage it is completed. Refused (INVALID_ROLLOUT_STATE, exit code 5) at the last stage.";
  static override examples = [
    '<%= config.bin %> rollouts advance new-invoices',
    '<%= config.bin %> rollouts advance new-invoices --reason "pilot looked fine for a day" --json',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = TransitionCommand.args;
  protected readonly transition: Transition = 'advance';
}
