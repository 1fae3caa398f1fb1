import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { ExitCode } from '../../errors.js';
import { orgIdRangeFlag, rangeMoveFlags, rangeMoveOptions, reasonFlag } from '../../flags.js';
import { type FollowOutcome, followWithView } from '../../moves/follow.js';
import { renderMoves } from '../../moves/render.js';
import type { CreateMovesAnswer, Move, MoveBatch } from '../../moves/types.js';

export interface ShardsMoveResult {
  batch: MoveBatch;
  /** The range move as the control plane answered; with --follow, as it rests. */
  moves: Move[];
  followed: boolean;
  /** `started` without --follow; else `arrived` (flipped or completed) or `stopped`. */
  outcome: 'started' | FollowOutcome;
}

export default class ShardsMove extends OrgplaneCommand<ShardsMoveResult> {
  static override summary =
    'Move a shard-map range to another cluster online, as one range move: one copy, one fence, one flip of the range.';
  static override description =
    `--range must start and end on shard-map ranges (split first with \`shards split\`); it may cover several adjacent ranges of one cluster. Every org of the range moves, except the orgs that have a pin: those are left alone, and their pins stay. The flip reassigns the range in the shard map, with no per-org pins.

With --follow the command shows the move, table by table, until it rests, and exits 0 only when it flipped or completed. A flipped move is reversible until it completes: \`orgplane moves rollback <id>\`.`;
  static override examples = [
    '<%= config.bin %> shards move --range 5000-9999 --to primary-4 --follow',
    '<%= config.bin %> shards move --range 5000-9999 --from primary-1 --to primary-4 --copy-streams 8 --read-from replica --reason "new cluster" --json',
  ];
  static override flags = {
    range: orgIdRangeFlag({ description: 'the inclusive org-id range to move, as <lo>-<hi>', required: true }),
    to: Flags.string({ description: 'id of the cluster the range moves to', required: true }),
    from: Flags.string({ description: 'the cluster that serves the range (checked; by default whichever does)' }),
    ...rangeMoveFlags,
    reason: reasonFlag,
    follow: Flags.boolean({ description: 'show live progress and wait until the move rests', default: false }),
  };

  protected async execute(): Promise<ShardsMoveResult> {
    const { flags } = await this.parse(ShardsMove);
    const api = this.api();
    const created = await api.send<CreateMovesAnswer>('POST', '/v1/moves', {
      range: flags.range,
      to: flags.to,
      from: flags.from,
      ...rangeMoveOptions(flags),
      reason: flags.reason,
    });
    if (!flags.follow) return { ...created, followed: false, outcome: 'started' };
    const { moves, outcome } = await followWithView(api, created.moves, { json: this.jsonEnabled(), batchId: created.batch.id });
    const batch = await api.get<MoveBatch>(`/v1/move-batches/${encodeURIComponent(created.batch.id)}`);
    if (outcome !== 'arrived') process.exitCode = ExitCode.failure;
    return { batch, moves, followed: true, outcome };
  }

  protected render(result: ShardsMoveResult): void {
    renderMoves(result.moves, (line) => this.log(line));
    const id = result.moves[0]?.id ?? '<id>';
    if (result.outcome === 'started') this.log(`\nRange move ${id} started. Follow it with \`orgplane moves show ${id}\`.`);
    else if (result.outcome === 'arrived')
      this.log(`\nThe range is served by its new cluster. Roll back with \`orgplane moves rollback ${id}\` until it completes.`);
    else this.log(`\nThe move did not arrive: see \`orgplane moves show ${id}\` and runbooks/org-move.md.`);
  }
}
