import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { labDir } from '../../context.js';
import { CliError, ExitCode } from '../../errors.js';
import type { LabPresent } from '../../lab/index.js';

export type LabStatusResult = LabPresent;

/** URLs carry the lab password; people see them redacted, --json has them whole. */
function redact(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
}

export function renderLabStatus(s: LabPresent, log: (line: string) => void): void {
  const mark = (running: boolean) => (running ? 'running' : 'stopped');
  log(`lab ${s.state} in ${s.dir} (${s.orgs} orgs)`);
  log(`  control plane  ${s.controlPlane.url}  ${mark(s.controlPlane.running)}`);
  const p = s.prometheus;
  log(p.state === 'absent' ? `  prometheus     absent: ${p.hint}` : `  prometheus     ${p.url ?? ''}  ${p.state}`);
  log(`  control DB     ${redact(s.controlDb.url)}  ${mark(s.controlDb.running)}`);
  for (const c of s.clusters) {
    log(`  ${c.id.padEnd(13)}  ${redact(c.primary.url)}  ${mark(c.primary.running)}`);
    for (const r of c.replicas) {
      const lag = r.replayLagBytes === null || r.replayLagBytes === undefined ? '' : `, ${r.replayLagBytes} bytes behind`;
      log(`    ${r.id.padEnd(21)}  ${redact(r.url)}  ${mark(r.running)}${lag}`);
    }
  }
}

export default class LabStatusCommand extends OrgplaneCommand<LabStatusResult> {
  static override summary = 'Show what the lab runs and how to reach it (URLs, token).';
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --json'];
  static override flags = {
    dir: Flags.string({ description: 'lab directory', hidden: true }),
  };

  protected async execute(): Promise<LabStatusResult> {
    const { flags } = await this.parse(LabStatusCommand);
    const { labStatus } = await import('../../lab/index.js');
    const status = await labStatus({ dir: labDir(flags.dir) });
    if (status.state === 'absent') {
      throw new CliError('LAB_NOT_FOUND', `no lab in ${status.dir}`, 'run `orgplane lab up`', ExitCode.notFound);
    }
    return status;
  }

  protected render(result: LabStatusResult): void {
    renderLabStatus(result, (line) => this.log(line));
  }
}
