import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { CliError, ExitCode } from '../../errors.js';
import { checkFlag, durationFlag, reasonFlag, stagesFlag } from '../../flags.js';
import { readPlan, stagesFromFlags } from '../../rollouts/parse.js';
import { formatRollout } from '../../rollouts/render.js';
import type {
  NoDataPolicy,
  OnFailure,
  Rollout,
  RolloutAnalysisPolicy,
  RolloutDraft,
  RolloutMode,
  RolloutStage,
} from '../../rollouts/types.js';

export type RolloutsCreateResult = Rollout;

export default class RolloutsCreate extends OrgplaneCommand<RolloutsCreateResult> {
  static override summary = 'Create a rollout: a flag keyed by org id with a stage plan, starting off and paused.';
  static override description =
    `Stages come from --stages (the same --check guards and --min-dwell on every stage) or from a JSON --plan file:
  {"stages": [{"percent": 0, "minDwellSeconds": 86400, "checks": ["errors:sum(rate(http_errors_total[5m]))<0.01"]},
              {"percent": 10, "checks": [{"name": "p99", "query": "histogram_quantile(0.99, ...)", "op": "<", "threshold": 0.5}]}],
   "analysis": {"intervalSeconds": 60, "failureLimit": 3, "minSamples": 5, "noData": "hold"}}
A first stage "pilot" (0%) holds only the --pilot-cohort (see \`orgplane pilot select\`). The rollout starts paused at no stage: \`orgplane rollouts advance\` enters the first.`;
  static override examples = [
    '<%= config.bin %> rollouts create new-invoices --stages pilot,10,25,50,100 --pilot-cohort pilot-2026-11 --check "errors:sum(rate(http_requests_total{code=~\\"5..\\"}[5m])) / sum(rate(http_requests_total[5m]))<0.01" --min-dwell 1h',
    '<%= config.bin %> rollouts create new-invoices --stages 0,10,25,50,100 --mode automatic --on-failure rollback --interval 30s',
    '<%= config.bin %> rollouts create new-invoices --plan plan.json --pilot-cohort pilot-2026-11 --json',
  ];
  static override args = {
    flag: Args.string({ description: 'the flag name, as services check it', required: true }),
  };
  static override flags = {
    stages: stagesFlag({
      description: 'stage percents, strictly increasing; "pilot" first means 0% plus the pilot cohort',
      exactlyOne: ['stages', 'plan'],
    }),
    plan: Flags.string({
      description: 'a JSON file with the stages (percent, minDwellSeconds, checks) and analysis',
      exclusive: ['check', 'min-dwell'],
    }),
    check: checkFlag({ description: "an SLO guard on every stage, 'name:promql<threshold' (or <=, >, >=); repeatable" }),
    'min-dwell': durationFlag({ description: 'minimum time in each stage before it may advance (seconds, or 30m, 2h)' }),
    'pilot-cohort': Flags.string({ description: 'the cohort that is in from the first stage on' }),
    mode: Flags.string({ description: 'automatic: gates advance stages by themselves', options: ['manual', 'automatic'] }),
    'on-failure': Flags.string({ description: 'what a failing gate does', options: ['pause', 'rollback'] }),
    interval: durationFlag({ description: 'how often checks are evaluated (seconds, or 30s, 1m)' }),
    'failure-limit': Flags.integer({ description: 'failed evaluations before the gate trips', min: 1 }),
    'min-samples': Flags.integer({ description: 'evaluations needed before a stage may pass', min: 0 }),
    'no-data': Flags.string({ description: 'what a check without data counts as', options: ['pass', 'fail', 'hold'] }),
    'group-id': Flags.string({ description: 'the Unleash groupId for bucketing (default: the flag name)' }),
    description: Flags.string({ description: 'what the flag changes, for people' }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<RolloutsCreateResult> {
    const { args, flags } = await this.parse(RolloutsCreate);
    let stages: RolloutStage[];
    const analysis: Partial<RolloutAnalysisPolicy> = {};
    if (flags.plan) {
      const plan = await readPlan(flags.plan);
      stages = plan.stages;
      Object.assign(analysis, plan.analysis);
    } else {
      // exactlyOne: without --plan there are --stages.
      const { percents, pilot } = flags.stages as NonNullable<typeof flags.stages>;
      if (pilot && !flags['pilot-cohort']) {
        throw new CliError(
          'PILOT_COHORT_REQUIRED',
          '--stages starts with pilot but no --pilot-cohort names the cohort',
          'select one with `orgplane pilot select --count 500 --seed 1 --name <name>`, then pass --pilot-cohort <name>',
          ExitCode.usage,
        );
      }
      stages = stagesFromFlags(percents, flags.check ?? [], flags['min-dwell'] ?? 0);
    }
    if (flags.interval !== undefined) analysis.intervalSeconds = flags.interval;
    if (flags['failure-limit'] !== undefined) analysis.failureLimit = flags['failure-limit'];
    if (flags['min-samples'] !== undefined) analysis.minSamples = flags['min-samples'];
    if (flags['no-data'] !== undefined) analysis.noData = flags['no-data'] as NoDataPolicy;
    const draft: RolloutDraft = {
      flag: args.flag,
      stages,
      ...(flags.description === undefined ? {} : { description: flags.description }),
      ...(flags['group-id'] === undefined ? {} : { groupId: flags['group-id'] }),
      ...(flags['pilot-cohort'] === undefined ? {} : { pilotCohort: flags['pilot-cohort'] }),
      ...(flags.mode === undefined ? {} : { mode: flags.mode as RolloutMode }),
      ...(flags['on-failure'] === undefined ? {} : { onFailure: flags['on-failure'] as OnFailure }),
      ...(Object.keys(analysis).length === 0 ? {} : { analysis }),
      ...(flags.reason === undefined ? {} : { reason: flags.reason }),
    };
    return this.api().send<Rollout>('POST', '/v1/rollouts', draft);
  }

  protected render(result: RolloutsCreateResult): void {
    this.log(formatRollout(result));
    this.log(`\ncreated at config version ${result.version}; \`orgplane rollouts advance ${result.flag}\` enters the first stage`);
  }
}
