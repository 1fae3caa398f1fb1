import { InvalidInputError } from '../errors.js';

/** `?limit=` as an integer in 1..max (the schema already checked it is digits). */
export function parseLimit(text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const limit = Number(text);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidInputError(`limit must be in 1..${max}`, { details: [{ field: 'limit', message: `must be in 1..${max}` }] });
  }
  return limit;
}

/** A non-negative integer query parameter, such as `before` or `since`. */
export function parseCount(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]{1,16}$/.test(text) || !Number.isSafeInteger(value)) {
    throw new InvalidInputError(`${field} must be a non-negative integer`, {
      details: [{ field, message: 'must be a non-negative integer' }],
    });
  }
  return value;
}
