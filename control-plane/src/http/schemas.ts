// JSON-schema fragments shared by the routes. Org ids are validated by requireOrgId,
// not by the schema, so that a bad one is answered with INVALID_ORG_ID.
import { RESOURCE_ID_PATTERN } from '../lib/ids.js';

export const resourceId = { type: 'string', pattern: RESOURCE_ID_PATTERN } as const;

export const postgresUrl = { type: 'string', minLength: 1, maxLength: 4096 } as const;

/** Every mutating body may carry these. */
export const mutationMeta = {
  reason: { type: 'string', maxLength: 2000 },
  expectedVersion: { type: 'integer', minimum: 0 },
} as const;

/** Present but type-checked later (org ids). */
export const anyValue = {} as const;

export function body(properties: Record<string, object>, required: string[] = []) {
  return { type: 'object', additionalProperties: false, properties, required } as const;
}

export function query(properties: Record<string, object>) {
  return { type: 'object', properties } as const;
}

/** A decimal query-string number. */
export const digits = { type: 'string', pattern: '^[0-9]{1,16}$' } as const;
