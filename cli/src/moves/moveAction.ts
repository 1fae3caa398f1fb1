// `moves resume|abort|rollback|complete <id>`: one POST to /v1/moves/:id/<verb>, after a
// confirmation for the destructive ones, and with --follow until the move rests.
import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../baseCommand.js';
import { ExitCode } from '../errors.js';
import { reasonFlag } from '../flags.js';
import { followWithView } from './follow.js';
import { renderMove } from './render.js';
import type { Move, MoveState } from './types.js';

export type MoveVerb = 'resume' | 'abort' | 'rollback' | 'complete';

export abstract class MoveActionCommand extends OrgplaneCommand<Move> {
  // The verbs inherit baseFlags and restate args (`static override args = MoveActionCommand.args`:
  // oclif's parse reads a command's own args only); the destructive ones add `flags = { yes: yesFlag }`.
  static override args = {
    id: Args.string({ description: 'the move id (mv_...)', required: true }),
  };
  static override baseFlags = {
    reason: reasonFlag,
    follow: Flags.boolean({ description: 'show live progress and wait until the move rests', default: false }),
  };

  protected abstract readonly verb: MoveVerb;
  /** The states in which --follow counts the move as done (exit 0). */
  protected abstract readonly arrived: ReadonlySet<MoveState>;
  /** The question to confirm; verbs that destroy nothing have none. */
  protected question?(move: Move): string;

  protected async execute(): Promise<Move> {
    const { args, flags } = await this.parse(this.constructor as typeof MoveActionCommand);
    // --yes is the destructive verbs' own flag.
    const yes = (flags as { yes?: boolean }).yes === true;
    const api = this.api();
    const path = `/v1/moves/${encodeURIComponent(String(args.id))}`;
    if (this.question && !yes) {
      // Without a person to ask, refuse before reading anything.
      if (this.jsonEnabled() || !process.stdin.isTTY) await this.confirm(`${this.verb} of move ${args.id}`, false);
      // The question names the org and the clusters, so read the move first: an unknown
      // id fails here, before anyone is asked anything.
      await this.confirm(this.question(await api.get<Move>(path)), false);
    }
    const answer = await api.send<Move>('POST', `${path}/${this.verb}`, { reason: flags.reason });
    if (!flags.follow) return answer;
    const { moves, outcome } = await followWithView(api, [answer], { json: this.jsonEnabled(), arrived: this.arrived });
    if (outcome !== 'arrived') process.exitCode = ExitCode.failure;
    return moves[0] as Move;
  }

  protected render(result: Move): void {
    renderMove(result, (line) => this.log(line));
  }
}
