import * as Flags from '@oclif/core/flags';
import type { RebalancePlanDoc } from '@orgplane/control-plane/api';
import { OrgplaneCommand } from '../../baseCommand.js';
import { ExitCode } from '../../errors.js';
import { rangeMoveFlags, rangeMoveOptions, reasonFlag, rebalancePercentFlag } from '../../flags.js';
import { type FollowOutcome, followWithView } from '../../moves/follow.js';
import { renderMoves } from '../../moves/render.js';
import type { Move, MoveBatch } from '../../moves/types.js';
import { formatTable } from '../../table.js';

/** --dry-run: the control plane's document as it is; else the moves it started, as `shards move`. */
export type ShardsRebalanceResult =
  | { plan: RebalancePlanDoc }
  | { plan: RebalancePlanDoc; batch: MoveBatch; moves: Move[]; followed: boolean; outcome: 'started' | FollowOutcome };

export default class ShardsRebalance extends OrgplaneCommand<ShardsRebalanceResult> {
  static override summary =
    "Move a share of a cluster's orgs (or rows) to another cluster as range moves, cut from the real org-id distribution.";
  static override description =
    `The control plane counts the orgs --from serves by range (orgs with a pin count for nothing and are left alone) and takes the top of its highest ranges: whole ranges while they hold no more than what is wanted, then the range that holds more is split where exactly --percent of the orgs (or, with --by rows, of the rows of every tenant table) is reached. The split is an ordinary shard-map split; the spans move as range moves in one batch.

--dry-run prints the plan (the ranges, split points, orgs, rows and an estimated copy time) and changes nothing. With --follow the command shows the moves until they rest and exits 0 only when every one flipped or completed.`;
  static override examples = [
    '<%= config.bin %> shards rebalance --from primary-1 --to primary-4 --percent 10 --dry-run',
    '<%= config.bin %> shards rebalance --from primary-1 --to primary-4 --percent 10 --by rows --copy-streams 8 --follow',
    '<%= config.bin %> shards rebalance --from primary-1 --to primary-4 --percent 2.5 --reason "new cluster" --json',
  ];
  static override flags = {
    from: Flags.string({ description: 'id of the cluster whose orgs move', required: true }),
    to: Flags.string({ description: 'id of the cluster they move to', required: true }),
    percent: rebalancePercentFlag({ description: 'the share to move: a number greater than 0 and less than 100', required: true }),
    by: Flags.string({
      description: "what --percent is a share of: the source's orgs or its rows [default: orgs]",
      options: ['orgs', 'rows'],
    }),
    'dry-run': Flags.boolean({ description: 'print the plan and change nothing', default: false }),
    ...rangeMoveFlags,
    reason: reasonFlag,
    follow: Flags.boolean({ description: 'show live progress and wait until every move rests', default: false }),
  };

  protected async execute(): Promise<ShardsRebalanceResult> {
    const { flags } = await this.parse(ShardsRebalance);
    const api = this.api();
    const answer = await api.send<ShardsRebalanceResult>('POST', '/v1/shard-map/rebalance', {
      from: flags.from,
      to: flags.to,
      percent: flags.percent,
      by: flags.by,
      dryRun: flags['dry-run'] || undefined,
      ...rangeMoveOptions(flags),
      reason: flags.reason,
    });
    if (!('batch' in answer)) return answer;
    if (!flags.follow) return { ...answer, followed: false, outcome: 'started' };
    const { moves, outcome } = await followWithView(api, answer.moves, { json: this.jsonEnabled(), batchId: answer.batch.id });
    const batch = await api.get<MoveBatch>(`/v1/move-batches/${encodeURIComponent(answer.batch.id)}`);
    if (outcome !== 'arrived') process.exitCode = ExitCode.failure;
    return { plan: answer.plan, batch, moves, followed: true, outcome };
  }

  protected render(result: ShardsRebalanceResult): void {
    renderPlan(result.plan, (line) => this.log(line));
    if (!('batch' in result)) {
      this.log('\nDry run: nothing changed. Run it again without --dry-run to split and start the moves.');
      return;
    }
    this.log('');
    renderMoves(result.moves, (line) => this.log(line));
    const batch = result.batch.id;
    if (result.outcome === 'started') this.log(`\nBatch ${batch} started. Follow it with \`orgplane moves list --batch ${batch}\`.`);
    else if (result.outcome === 'arrived')
      this.log('\nThe ranges are served by their new cluster. Roll one back with `orgplane moves rollback <id>` until it completes.');
    else this.log('\nNot every move arrived: see `orgplane moves show <id>` and runbooks/org-move.md.');
  }
}

const count = (n: number) => n.toLocaleString('en-US');

function renderPlan(plan: RebalancePlanDoc, log: (line: string) => void): void {
  const rows = plan.ranges.map((r) => ({
    range: `${r.lo}-${r.hi}`,
    splitAt: r.splitAt,
    moves: `${r.splitAt ?? r.lo}-${r.hi}`,
    orgs: count(r.orgs),
    rows: count(r.rows),
  }));
  log(formatTable(rows, ['range', 'splitAt', 'moves', 'orgs', 'rows']));
  const share = (part: number, whole: number) => `${count(part)} of ${count(whole)}`;
  log(
    `\n${plan.from} -> ${plan.to}, ${plan.percent} % by ${plan.by}: ${share(plan.orgs, plan.sourceOrgs)} orgs, ${share(plan.rows, plan.sourceRows)} rows (orgs with a pin are left alone)`,
  );
  const basis = plan.rateBasis === 'measured' ? 'measured on the newest range move' : 'default: no range move measured yet';
  log(`estimated copy time ${duration(plan.estimatedSeconds)} at ${count(plan.copyRowsPerSecond)} rows/s (${basis})`);
}

/** `0.4 s`, `12 s`, `4 min 10 s`, `2 h 5 min`. */
export function duration(seconds: number): string {
  if (seconds < 10) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
