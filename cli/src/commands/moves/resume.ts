import { MoveActionCommand } from '../../moves/moveAction.js';
import { ARRIVED_STATES } from '../../moves/types.js';

export type { Move as MovesResumeResult } from '../../moves/types.js';

export default class MovesResume extends MoveActionCommand {
  static override summary = 'Run a failed or waiting move again, from the last step it finished.';
  static override examples = [
    '<%= config.bin %> moves resume mv_3f9c2a71b04e8d65',
    '<%= config.bin %> moves resume mv_3f9c2a71b04e8d65 --follow --reason "replica caught up"',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = MoveActionCommand.args;
  protected readonly verb = 'resume';
  protected readonly arrived = ARRIVED_STATES;
}
