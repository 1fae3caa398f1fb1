// Every failure of the lab is a LabError: a stable code, a message for people and
// what to try next. The CLI turns it into its own named error and exit code.

export type LabErrorCode =
  | 'LAB_INVALID_INPUT'
  | 'LAB_CONFIG_MISMATCH'
  | 'LAB_INCOMPLETE'
  | 'LAB_NOT_A_LAB'
  | 'LAB_CONTROL_PLANE_MISSING'
  | 'LAB_UP_FAILED'
  | 'LAB_DOWN_FAILED'
  | 'LAB_REPLICA_NOT_FOUND'
  | 'LAB_REPLICA_STOPPED';

export class LabError extends Error {
  override name = 'LabError';
  constructor(
    readonly code: LabErrorCode,
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The hint of a named error from a lower layer (e.g. EmbeddedPostgresError), if it has one. */
export function hintOf(err: unknown): string | undefined {
  const hint = (err as { hint?: unknown } | null)?.hint;
  return typeof hint === 'string' ? hint : undefined;
}
