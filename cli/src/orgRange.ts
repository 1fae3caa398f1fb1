// `--range <lo>-<hi>`: an inclusive org-id range as the shards commands take it.
import { parseOrgId } from './baseCommand.js';
import { CliError, ExitCode } from './errors.js';

export interface OrgRange {
  lo: number;
  hi: number;
}

export function parseOrgRange(raw: string): OrgRange {
  const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw);
  if (!match?.[1] || !match[2]) {
    throw new CliError('INVALID_RANGE', `'${raw}' is not a range`, 'write it as <lo>-<hi>, for example 5000-6666', ExitCode.usage);
  }
  const lo = parseOrgId(match[1]);
  const hi = parseOrgId(match[2]);
  if (lo > hi)
    throw new CliError('INVALID_RANGE', `range ${lo}-${hi} ends before it starts`, 'write the lower org id first', ExitCode.usage);
  return { lo, hi };
}
