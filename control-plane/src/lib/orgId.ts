import { isValidOrgId } from '@orgplane/runtime/wire';
import { InvalidOrgIdError } from '../errors.js';

/** An org id from a JSON body: a number that is a safe, non-negative integer. */
export function requireOrgId(value: unknown, field: string): number {
  if (!isValidOrgId(value)) throw new InvalidOrgIdError(field, value);
  return value;
}

/** An org id from a path or query string: decimal digits only, no sign, no fraction. */
export function parseOrgIdText(text: string | undefined, field: string): number {
  if (text === undefined || !/^[0-9]{1,16}$/.test(text)) throw new InvalidOrgIdError(field, text);
  return requireOrgId(Number(text), field);
}
