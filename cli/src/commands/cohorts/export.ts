import path from 'node:path';
import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { COHORT_PAGE_LIMIT_DEFAULT, COHORT_PAGE_LIMIT_MAX } from '@orgplane/control-plane/api/rules';
import { OrgplaneCommand } from '../../baseCommand.js';
import { CliError, ExitCode } from '../../errors.js';
import { type ExportFormat, type ExportSummary, exportCohortToFile, writeCohort } from '../../rollouts/exportCohort.js';

/**
 * With --output: what was written where. Without --output the org ids go to stdout as
 * they arrive, and with --json that stream is itself the one JSON document
 * `{"name","size","seed","orgIds"}`.
 */
export type CohortsExportResult = ExportSummary;

export default class CohortsExport extends OrgplaneCommand<CohortsExportResult> {
  static override summary = "Export all of a cohort's org ids, page by page, as CSV or JSON.";
  static override examples = [
    '<%= config.bin %> cohorts export pilot-2026-11 --output pilot.csv',
    '<%= config.bin %> cohorts export pilot-2026-11 --format json --output pilot.json --json',
    '<%= config.bin %> cohorts export pilot-2026-11 > pilot.csv',
  ];
  static override args = {
    name: Args.string({ description: 'the cohort name, from `orgplane cohorts list`', required: true }),
  };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'write to this file (default: stdout)' }),
    'page-size': Flags.integer({
      description: 'org ids per request to the control plane',
      default: COHORT_PAGE_LIMIT_DEFAULT,
      min: 1,
      max: COHORT_PAGE_LIMIT_MAX,
    }),
    format: Flags.string({ description: 'csv: an org_id column; json: {"name","size","seed","orgIds"}', options: ['csv', 'json'] }),
  };

  private streamedToStdout = false;

  protected async execute(): Promise<CohortsExportResult> {
    const { args, flags } = await this.parse(CohortsExport);
    if (flags.output) {
      const format = (flags.format ?? (path.extname(flags.output) === '.json' ? 'json' : 'csv')) as ExportFormat;
      return exportCohortToFile(this.api(), args.name, format, flags.output, flags['page-size']);
    }
    if (this.jsonEnabled() && flags.format === 'csv') {
      throw new CliError(
        'INVALID_ARGUMENTS',
        '--json prints one JSON document: CSV to stdout cannot be it',
        'give --output FILE for the CSV, or drop --format csv',
        ExitCode.usage,
      );
    }
    const format = this.jsonEnabled() ? 'json' : ((flags.format ?? 'csv') as ExportFormat);
    const summary = await writeCohort(this.api(), args.name, format, process.stdout, flags['page-size']);
    this.streamedToStdout = true;
    return { ...summary, output: null };
  }

  // The export itself was the output: print nothing more, not even under --json.
  override async run(): Promise<CohortsExportResult> {
    const result = await this.execute();
    if (this.streamedToStdout) return undefined as unknown as CohortsExportResult;
    if (!this.jsonEnabled()) this.render(result);
    return result;
  }

  protected render(result: CohortsExportResult): void {
    this.logToStderr(`exported ${result.exported} of ${result.size} org ids of ${result.name} to ${result.output} (${result.format})`);
  }
}
