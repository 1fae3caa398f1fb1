// Every failure the CLI reports is a CliError: a stable code, a message for people,
// what to try next, and the process exit code.

export const ExitCode = {
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  unreachable: 6,
  /** Like a shell's unknown command (and @oclif/plugin-not-found's). */
  commandNotFound: 127,
} as const;

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string | undefined,
    readonly exitCode: number = ExitCode.failure,
    readonly details?: unknown,
  ) {
    super(message);
  }

  toJSON() {
    return { name: this.name, code: this.code, message: this.message, hint: this.hint, exitCode: this.exitCode, details: this.details };
  }
}

/** How people see an error on stderr: its code and message, then what to try. */
export function errorText(err: CliError): string {
  return `Error [${err.code}]: ${err.message}\n${err.hint ? `  Try: ${err.hint}\n` : ''}`;
}

/** An error answer from the control plane, carrying its stable error code. */
export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    code: string,
    message: string,
    hint: string | undefined,
    details?: unknown,
  ) {
    super(code, message, hint, exitCodeForStatus(status), details);
  }
}

function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return ExitCode.auth;
  if (status === 404) return ExitCode.notFound;
  if (status === 409) return ExitCode.conflict;
  if (status >= 400 && status < 500) return ExitCode.usage;
  return ExitCode.failure;
}

interface CodedError {
  code?: unknown;
  hint?: unknown;
  oclif?: { exit?: number };
}

/** Named errors of lower layers whose exit code is not the generic failure. */
const EXIT_BY_CODE: Readonly<Record<string, number>> = {
  // The control plane's move errors, should one come from a lower layer rather than over
  // HTTP (where the status decides): unknown things, conflicting states.
  ORG_NOT_FOUND: ExitCode.notFound,
  CLUSTER_NOT_FOUND: ExitCode.notFound,
  MOVE_NOT_FOUND: ExitCode.notFound,
  ALREADY_ON_CLUSTER: ExitCode.conflict,
  ORG_ALREADY_MOVING: ExitCode.conflict,
  INVALID_MOVE_STATE: ExitCode.conflict,
  // Range moves and rebalancing: a span in the hands of another move is a conflict; a span
  // that is not what a range move takes, or a cluster with nothing to move, is input
  // (422, like INVALID_RANGES).
  RANGE_ALREADY_MOVING: ExitCode.conflict,
  RANGE_HAS_MOVING_ORGS: ExitCode.conflict,
  RANGE_MOVING: ExitCode.conflict,
  RANGE_NOT_ALIGNED: ExitCode.usage,
  RANGE_SPANS_CLUSTERS: ExitCode.usage,
  CLUSTER_HAS_NO_ORGS: ExitCode.usage,
  // The lab exists with another size: like a version conflict, the state is not as asked.
  LAB_CONFIG_MISMATCH: ExitCode.conflict,
  // The directory given is not a lab: the caller pointed at the wrong place.
  LAB_NOT_A_LAB: ExitCode.usage,
  LAB_REPLICA_NOT_FOUND: ExitCode.notFound,
};

/** Turn anything thrown into a CliError, keeping codes and hints of named errors. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) {
    // A custom flag's parse error comes back with oclif's framing around our message.
    err.message = err.message.replace(/^Parsing --\S+ \n\t/, '').replace(/\nSee more help with --help$/, '');
    return err;
  }
  if (err instanceof Error) {
    const coded = err as Error & CodedError;
    if (coded.oclif?.exit !== undefined && coded.oclif.exit !== 0) {
      // oclif's own parse errors: unknown flag, missing argument, bad flag value.
      return new CliError('INVALID_ARGUMENTS', parseErrorLine(err.message), 'see --help for the flags this command takes', ExitCode.usage);
    }
    if (typeof coded.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(coded.code)) {
      const usage = coded.code.endsWith('INVALID_INPUT') || coded.code.startsWith('INVALID');
      return new CliError(
        coded.code,
        err.message,
        typeof coded.hint === 'string' ? coded.hint : undefined,
        EXIT_BY_CODE[coded.code] ?? (usage ? ExitCode.usage : ExitCode.failure),
      );
    }
    return new CliError('UNEXPECTED', err.message, 'this is a bug in orgplane; run again with DEBUG=* and report it', ExitCode.failure);
  }
  return new CliError('UNEXPECTED', String(err), undefined, ExitCode.failure);
}

/** oclif's message without its framing: "The following error occurred:" and "See more help". */
function parseErrorLine(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^The following errors? occurred:$/.test(l) && !l.startsWith('See more help'));
  return lines.join('; ') || message;
}
