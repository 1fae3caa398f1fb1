// `--tier` or `--org`: whose rate limit a command is about, as the API's path.
import { CliError, ExitCode } from '../errors.js';

export function limitPath(flags: { tier?: string | undefined; org?: number | undefined }, subject: string, routeClass: string): string {
  if ((flags.tier === undefined) === (flags.org === undefined)) {
    throw new CliError(
      'INVALID_ARGUMENTS',
      'give exactly one of --tier and --org',
      'a tier default: --tier standard; an org override: --org 42',
      ExitCode.usage,
    );
  }
  const owner = flags.tier !== undefined ? `tiers/${flags.tier}` : `orgs/${flags.org}`;
  return `/v1/limits/${owner}/${subject}/${routeClass}`;
}
