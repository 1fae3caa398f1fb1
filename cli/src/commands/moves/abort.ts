import { yesFlag } from '../../flags.js';
import { moveSubject } from '../../moves/format.js';
import { MoveActionCommand } from '../../moves/moveAction.js';
import type { Move, MoveState } from '../../moves/types.js';

export type { Move as MovesAbortResult } from '../../moves/types.js';

export default class MovesAbort extends MoveActionCommand {
  static override summary = 'Give up a move before its flip: the rows copied to the target are deleted, the source is untouched.';
  static override examples = [
    '<%= config.bin %> moves abort mv_3f9c2a71b04e8d65 --yes',
    '<%= config.bin %> moves abort mv_3f9c2a71b04e8d65 --follow --reason "target too slow"',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = MoveActionCommand.args;
  static override flags = { yes: yesFlag };
  protected readonly verb = 'abort';
  protected readonly arrived: ReadonlySet<MoveState> = new Set(['aborted']);
  protected override question(m: Move): string {
    return `Abort move ${m.id} of ${moveSubject(m)}? Its rows copied to ${m.to} are deleted; it stays on ${m.from}.`;
  }
}
