import * as Args from '@oclif/core/args';
import { OrgplaneCommand } from '../../baseCommand.js';
import { renderMove } from '../../moves/render.js';
import type { Move } from '../../moves/types.js';

/** The move with its tables (rows, bytes, counts and checksums on both sides) and events. */
export type MovesShowResult = Move;

export default class MovesShow extends OrgplaneCommand<MovesShowResult> {
  static override summary =
    "Show one move: its state, each table's copy (of the span's estimate for a range move) and verification, and its events.";
  static override examples = [
    '<%= config.bin %> moves show mv_3f9c2a71b04e8d65',
    '<%= config.bin %> moves show mv_3f9c2a71b04e8d65 --json',
  ];
  static override args = {
    id: Args.string({ description: 'the move id (mv_...)', required: true }),
  };

  protected async execute(): Promise<MovesShowResult> {
    const { args } = await this.parse(MovesShow);
    return this.api().get<MovesShowResult>(`/v1/moves/${encodeURIComponent(args.id)}`);
  }

  protected render(result: MovesShowResult): void {
    renderMove(result, (line) => this.log(line));
  }
}
