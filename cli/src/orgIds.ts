// Org ids and org-id ranges as people type them, or a named usage error.
import { CliError, ExitCode } from './errors.js';

/** Parse and validate an org id given on the command line. */
export function parseOrgId(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
    throw new CliError(
      'INVALID_ORG_ID',
      `'${raw}' is not an org id`,
      'an org id is a whole number from 0 to 9007199254740991',
      ExitCode.usage,
    );
  }
  return n;
}

export interface OrgIdRange {
  lo: number;
  hi: number;
}

/** An inclusive org-id range written `<lo>-<hi>`. */
export function parseOrgIdRange(raw: string): OrgIdRange {
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
