import * as Flags from '@oclif/core/flags';
import { MOVE_CONCURRENCY } from '@orgplane/control-plane/api/rules';
import { OrgplaneCommand } from '../../baseCommand.js';
import { CliError, ExitCode } from '../../errors.js';
import { moveTimingFlags, orgIdArg, orgIdRangeFlag, reasonFlag, sharePercentFlag } from '../../flags.js';
import { type FollowOutcome, followWithView } from '../../moves/follow.js';
import { renderMoves } from '../../moves/render.js';
import type { CreateMovesAnswer, Move, MoveBatch } from '../../moves/types.js';
import type { OrgIdRange } from '../../orgIds.js';

export interface OrgsMoveResult {
  batch: MoveBatch;
  /** As the control plane answered; with --follow, each as it rests (with its tables and events when the batch is small). */
  moves: Move[];
  followed: boolean;
  /** `started` without --follow; else `arrived` (every move flipped or completed) or `stopped`. */
  outcome: 'started' | FollowOutcome;
}

export default class OrgsMove extends OrgplaneCommand<OrgsMoveResult> {
  static override summary = 'Move orgs to another cluster online: copy, catch up, verify, then flip their placement.';
  static override description =
    `Give org ids, or --from with --percent to move that share of a cluster's orgs (in a --range of ids if given). The moves run in the control plane; this command starts them as one batch and, with --follow, shows each until it rests: flipped, completed, failed, aborted or rolled back (a move waiting for another cutover attempt is followed on). With --follow the command exits 0 only when every move flipped or completed, else 1 with the same document.

A flipped move is reversible until it completes: \`orgplane moves rollback <id>\`; it completes by itself after --grace-seconds, or at once with \`orgplane moves complete <id>\`.`;
  static override examples = [
    '<%= config.bin %> orgs move 42 --to primary-2 --follow',
    '<%= config.bin %> orgs move 42 43 44 --to primary-3 --reason "noisy neighbours" --json',
    '<%= config.bin %> orgs move --from primary-1 --to primary-3 --percent 10 --concurrency 8 --follow',
    '<%= config.bin %> orgs move --from primary-1 --to primary-3 --percent 50 --range 1-5000 --json',
  ];
  static override args = {
    // Variadic: `orgs move 42 43 44`.
    orgId: orgIdArg({ description: 'ids of the orgs to move (one or more)', required: false, multiple: true }),
  };
  static override flags = {
    to: Flags.string({ description: 'id of the cluster the orgs move to', required: true }),
    from: Flags.string({ description: 'with --percent: the cluster whose orgs move' }),
    percent: sharePercentFlag({ description: 'with --from: the share of its orgs to move, a whole number 0..100' }),
    range: orgIdRangeFlag({ description: 'with --percent: only orgs in this inclusive id range, as <lo>-<hi>' }),
    concurrency: Flags.integer({
      description: `moves of the batch running at once (${MOVE_CONCURRENCY.minimum}..${MOVE_CONCURRENCY.maximum}) [default: 4]`,
      min: MOVE_CONCURRENCY.minimum,
      max: MOVE_CONCURRENCY.maximum,
    }),
    ...moveTimingFlags,
    reason: reasonFlag,
    follow: Flags.boolean({ description: 'show live progress and wait until every move rests', default: false }),
  };

  protected async execute(): Promise<OrgsMoveResult> {
    const { args, flags } = await this.parse(OrgsMove);
    const body = {
      ...selection(orgIdsOf(args.orgId), flags),
      to: flags.to,
      concurrency: flags.concurrency,
      fenceDeadlineMs: flags['fence-deadline-ms'],
      graceSeconds: flags['grace-seconds'],
      reason: flags.reason,
    };
    const api = this.api();
    const created = await api.send<CreateMovesAnswer>('POST', '/v1/moves', body);
    if (!flags.follow) return { ...created, followed: false, outcome: 'started' };
    const { moves, outcome } = await followWithView(api, created.moves, { json: this.jsonEnabled(), batchId: created.batch.id });
    const batch = await api.get<MoveBatch>(`/v1/move-batches/${encodeURIComponent(created.batch.id)}`);
    if (outcome !== 'arrived') process.exitCode = ExitCode.failure;
    return { batch, moves, followed: true, outcome };
  }

  protected render(result: OrgsMoveResult): void {
    renderMoves(result.moves, (line) => this.log(line));
    const batch = result.batch.id;
    if (result.outcome === 'started') {
      this.log(`\nBatch ${batch} started. Follow it with \`orgplane moves list --batch ${batch}\`.`);
    } else if (result.outcome === 'arrived') {
      this.log(`\nEvery org is served by its new cluster. Roll one back with \`orgplane moves rollback <id>\` until it completes.`);
    } else {
      this.log(`\nNot every move arrived: see \`orgplane moves show <id>\` and runbooks/org-move.md.`);
    }
  }
}

interface SelectionFlags {
  from?: string;
  percent?: number;
  range?: OrgIdRange;
}

type Selection = { orgIds: number[] } | { from: string; percent: number; range?: OrgIdRange };

/** Either org ids or --from with --percent, never both: checked here so that nothing is sent. */
function selection(orgIds: number[], flags: SelectionFlags): Selection {
  const byShare = flags.percent !== undefined || flags.from !== undefined || flags.range !== undefined;
  if (orgIds.length > 0 && byShare) {
    throw invalid(
      'give org ids, or --from with --percent, not both',
      'orgplane orgs move 42 --to primary-2, or orgplane orgs move --from primary-1 --to primary-2 --percent 10',
    );
  }
  if (orgIds.length > 0) return { orgIds };
  if (flags.from === undefined || flags.percent === undefined) {
    throw invalid(
      'say which orgs move: org ids, or --from with --percent',
      'orgplane orgs move 42 --to primary-2, or orgplane orgs move --from primary-1 --to primary-2 --percent 10',
    );
  }
  return { from: flags.from, percent: flags.percent, ...(flags.range === undefined ? {} : { range: flags.range }) };
}

/** The variadic arg's values (oclif types a variadic arg as one value). */
function orgIdsOf(value: number | number[] | undefined): number[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function invalid(message: string, example: string): CliError {
  return new CliError('INVALID_INPUT', message, `for example: ${example}`, ExitCode.usage);
}
