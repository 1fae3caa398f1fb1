// advance, pause, resume, rollback and kill: one POST each, the same flag and answer.
import * as Args from '@oclif/core/args';
import { OrgplaneCommand } from '../baseCommand.js';
import { reasonFlag } from '../flags.js';
import { rolloutPath } from './api.js';
import { formatRolloutLine } from './render.js';
import type { Rollout } from './types.js';

export type Transition = 'advance' | 'pause' | 'resume' | 'rollback' | 'kill';

export abstract class TransitionCommand extends OrgplaneCommand<Rollout> {
  // The verbs inherit baseFlags and restate args (`static override args = TransitionCommand.args`:
  // oclif's parse reads a command's own args only); the destructive ones add `flags = { yes: yesFlag }`.
  static override args = {
    flag: Args.string({ description: 'the rollout flag, from `orgplane rollouts list`', required: true }),
  };
  static override baseFlags = { reason: reasonFlag };

  protected abstract readonly transition: Transition;

  /** Destructive transitions ask first (and need --yes without a terminal). */
  protected confirmation(_flag: string): string | null {
    return null;
  }

  protected async execute(): Promise<Rollout> {
    const { args, flags } = await this.parse(this.constructor as typeof TransitionCommand);
    const question = this.confirmation(args.flag);
    if (question) await this.confirm(question, (flags as { yes?: boolean }).yes === true);
    return this.api().send<Rollout>('POST', rolloutPath(args.flag, this.transition), { reason: flags.reason });
  }

  protected render(result: Rollout): void {
    this.log(formatRolloutLine(result));
  }
}
