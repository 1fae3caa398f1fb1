import { type Transition, TransitionCommand } from '../../rollouts/TransitionCommand.js';
import type { Rollout } from '../../rollouts/types.js';

export type RolloutsAdvanceResult = Rollout;

export default class RolloutsAdvance extends TransitionCommand {
  static override summary = 'Move a rollout to its next stage (from off, into the first stage).';
  static override description =
    'A rollout with SLO checks refuses (409 INVALID_ROLLOUT_STATE) while paused or before its stage has dwelt its minimum; resume it first, or wait.';
  static override examples = [
    '<%= config.bin %> rollouts advance new-invoices',
    '<%= config.bin %> rollouts advance new-invoices --reason "pilot looked fine for a day" --json',
  ];
  protected readonly transition: Transition = 'advance';
}
