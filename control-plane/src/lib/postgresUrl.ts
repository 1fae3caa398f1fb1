// Cluster connection URLs are stored with their credentials (the move executor and the
// health checker need them) but leave this process only without the password.
import { InvalidInputError } from '../errors.js';

/** Query parameters libpq reads secrets from. */
const SECRET_PARAMS = /pass/i;

/** Validate a postgres:// or postgresql:// URL; returns it unchanged. */
export function parsePostgresUrl(text: string, field: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Never echo the value: it may carry a password.
    throw new InvalidInputError(`${field} is not a URL`, {
      details: [{ field, message: 'must be a postgres:// or postgresql:// URL' }],
      hint: 'write it as postgres://user:password@host:5432/database',
    });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidInputError(`${field} must use the postgres:// or postgresql:// scheme`, {
      details: [{ field, message: 'must be a postgres:// or postgresql:// URL' }],
      hint: 'write it as postgres://user:password@host:5432/database',
    });
  }
  if (!url.hostname && !url.searchParams.get('host')) {
    throw new InvalidInputError(`${field} has no host`, {
      details: [{ field, message: 'must name a host' }],
      hint: 'write it as postgres://user:password@host:5432/database',
    });
  }
  return text;
}

/** The same URL without a password, in the userinfo or in the query string. */
export function redactPostgresUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '[unparseable url]';
  }
  url.password = '';
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) url.searchParams.delete(key);
  }
  return url.toString();
}

/** Scrub `scheme://user:password@` from free text such as log messages and error stacks. */
export function scrubUrlPasswords(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, '$1:[redacted]@')
    .replace(/(\b[a-z]*pass(?:word)?\s*=\s*)[^&\s]+/gi, '$1[redacted]');
}
