import { yesFlag } from '../../flags.js';
import { moveSubject } from '../../moves/format.js';
import { MoveActionCommand } from '../../moves/moveAction.js';
import type { Move, MoveState } from '../../moves/types.js';

export type { Move as MovesRollbackResult } from '../../moves/types.js';

export default class MovesRollback extends MoveActionCommand {
  static override summary = 'Route a flipped org (or range) back to its source cluster, carrying back every write made on the target.';
  static override examples = [
    '<%= config.bin %> moves rollback mv_3f9c2a71b04e8d65 --yes',
    '<%= config.bin %> moves rollback mv_3f9c2a71b04e8d65 --yes --follow --reason "p99 up on primary-2"',
  ];
  // Command.parse() spreads the class ({...ctor}), which drops inherited args (flags come
  // through baseFlags): name them here.
  static override args = MoveActionCommand.args;
  static override flags = { yes: yesFlag };
  protected readonly verb = 'rollback';
  protected readonly arrived: ReadonlySet<MoveState> = new Set(['rolled_back']);
  protected override question(m: Move): string {
    return `Roll back move ${m.id} of ${moveSubject(m)}? It is routed back from ${m.to} to ${m.from} (a short write block).`;
  }
}
