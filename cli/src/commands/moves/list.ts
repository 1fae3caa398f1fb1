import * as Flags from '@oclif/core/flags';
import { MOVES_LIMIT_MAX } from '@orgplane/control-plane/api/rules';
import { OrgplaneCommand } from '../../baseCommand.js';
import { orgIdFlag } from '../../flags.js';
import { renderMoves } from '../../moves/render.js';
import { MOVE_STATES, type Move } from '../../moves/types.js';

export interface MovesListResult {
  moves: Move[];
}

export default class MovesList extends OrgplaneCommand<MovesListResult> {
  static override summary = 'List moves (of orgs and of ranges), newest first.';
  static override examples = [
    '<%= config.bin %> moves list',
    '<%= config.bin %> moves list --state failed',
    '<%= config.bin %> moves list --batch mb_8e1d0c5a97f24b36 --json',
    '<%= config.bin %> moves list --org 42',
  ];
  static override flags = {
    state: Flags.string({ description: 'only moves in this state', options: [...MOVE_STATES] }),
    batch: Flags.string({ description: 'only the moves of this batch (mb_...)' }),
    org: orgIdFlag({ description: "only this org's own moves (not range moves whose span holds it)" }),
    limit: Flags.integer({ description: 'how many moves', default: 100, min: 1, max: MOVES_LIMIT_MAX }),
    before: Flags.string({ description: 'only moves older than this move id (paging)' }),
  };

  protected async execute(): Promise<MovesListResult> {
    const { flags } = await this.parse(MovesList);
    return this.api().get<MovesListResult>('/v1/moves', {
      state: flags.state,
      batchId: flags.batch,
      orgId: flags.org,
      limit: flags.limit,
      before: flags.before,
    });
  }

  protected render(result: MovesListResult): void {
    renderMoves(result.moves, (line) => this.log(line));
  }
}
