import { yesFlag } from '../../flags.js';
import { moveSubject } from '../../moves/format.js';
import { MoveActionCommand } from '../../moves/moveAction.js';
import type { Move, MoveState } from '../../moves/types.js';

export type { Move as MovesCompleteResult } from '../../moves/types.js';

export default class MovesComplete extends MoveActionCommand {
  static override summary =
    "Finish a flipped move now: delete the org's (or the range's) rows on the source. After this it cannot be rolled back.";
  static override examples = [
    '<%= config.bin %> moves complete mv_3f9c2a71b04e8d65 --yes',
    '<%= config.bin %> moves complete mv_3f9c2a71b04e8d65 --yes --follow --json',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = MoveActionCommand.args;
  static override flags = { yes: yesFlag };
  protected readonly verb = 'complete';
  protected readonly arrived: ReadonlySet<MoveState> = new Set(['completed']);
  protected override question(m: Move): string {
    return `Complete move ${m.id} of ${moveSubject(m)}? Its rows on ${m.from} are deleted; it can no longer be rolled back.`;
  }
}
