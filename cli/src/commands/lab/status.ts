import { Flags } from '@oclif/core';
import { OrgplaneCommand } from '../../baseCommand.js';
import { labDir } from '../../context.js';
import { type LabStatus, labStatus } from '../../lab/index.js';

export type LabStatusResult = LabStatus;

/** URLs carry the lab password; people see them redacted, --json has them whole. */
function redact(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
}

export function renderLabStatus(s: LabStatus, log: (line: string) => void): void {
  const mark = (running: boolean) => (running ? 'running' : 'stopped');
  log(`lab ${s.state} in ${s.dir}${s.orgs ? ` (${s.orgs} orgs)` : ''}`);
  if (s.state === 'absent') return;
  log(`  control plane  ${s.controlPlane.url}  ${mark(s.controlPlane.running)}`);
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
    return labStatus({ dir: labDir(flags.dir) });
  }

  protected render(result: LabStatusResult): void {
    renderLabStatus(result, (line) => this.log(line));
    if (result.state === 'absent') this.log('Start it with: orgplane lab up');
  }
}
