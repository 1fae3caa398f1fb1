// What people type for `limits` and `cors`, turned into the API's shapes or a named usage
// error naming the flag. The control plane checks all of it again.
import {
  canonicalOrigin,
  GUARD_NAME_PATTERN,
  RATE_LIMIT_MAX,
  RATE_LIMIT_SUBJECTS,
  RATE_WINDOW_SECONDS_MAX,
} from '@orgplane/control-plane/api/rules';
import { CliError, ExitCode } from '../errors.js';

const usage = (code: string, message: string, hint: string) => new CliError(code, message, hint, ExitCode.usage);

/** A whole number 1..RATE_LIMIT_MAX (requests per window, or a burst). */
export function parseRate(raw: string, flag: string): number {
  const n = Number(raw.trim());
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < 1 || n > RATE_LIMIT_MAX) {
    throw usage(
      'INVALID_RATE_LIMIT',
      `--${flag} must be a whole number from 1 to ${RATE_LIMIT_MAX}, got '${raw}'`,
      `for example: --${flag} 100`,
    );
  }
  return n;
}

/** `60`, `60s`, `1m`, `1h`: 1 s .. 1 day. */
export function parseWindow(raw: string, flag: string): number {
  const match = /^\s*(\d+)\s*(s|m|h)?\s*$/.exec(raw);
  const seconds = match?.[1] ? Number(match[1]) * (match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1) : Number.NaN;
  if (!(seconds >= 1 && seconds <= RATE_WINDOW_SECONDS_MAX)) {
    throw usage(
      'INVALID_WINDOW',
      `--${flag} must be a duration from 1s to 24h, got '${raw}'`,
      `for example: --${flag} 60s or --${flag} 1m`,
    );
  }
  return seconds;
}

export function parseGuardName(raw: string, flag: string): string {
  if (!new RegExp(GUARD_NAME_PATTERN).test(raw)) {
    throw usage('INVALID_NAME', `--${flag} '${raw}' is not a name`, 'use lowercase letters, digits, `_` and `-`, for example: standard');
  }
  return raw;
}

export function parseSubject(raw: string): 'org' | 'user' {
  if (!(RATE_LIMIT_SUBJECTS as readonly string[]).includes(raw)) {
    throw usage(
      'INVALID_SUBJECT',
      `--subject must be one of ${RATE_LIMIT_SUBJECTS.join(', ')}, got '${raw}'`,
      'org counts an org, user one user in it',
    );
  }
  return raw as 'org' | 'user';
}

export function parseOrigin(raw: string): string {
  const origin = canonicalOrigin(raw);
  if (origin === null) {
    throw usage(
      'INVALID_ORIGIN',
      `'${raw}' is not an origin`,
      'give scheme://host[:port] exactly, e.g. https://app.example.com (no path, no trailing slash, no wildcard)',
    );
  }
  return origin;
}
