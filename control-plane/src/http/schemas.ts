// Schema fragments shared by every feature's *Schemas.ts. This module and those are
// the API contract: they import nothing but typebox, the runtime's wire rules and
// other schema modules, so the CLI can import them through `@orgplane/control-plane/api`.
//
// Org ids are validated by requireOrgId, not by a request schema, so that a bad one is
// answered with INVALID_ORG_ID; path parameters are plain strings for the same reason
// (a malformed cluster id is a 404 CLUSTER_NOT_FOUND, as before the schemas).
import { ORG_ID_MAX, ORG_ID_MIN, PERCENT_MAX, PERCENT_MIN } from '@orgplane/runtime/wire';
import { type Static, type TProperties, type TSchema, Type } from 'typebox';
import { DIGITS_PATTERN, POSTGRES_URL_MAX_LENGTH, REASON_MAX_LENGTH, RESOURCE_ID_PATTERN } from '../api/rules.js';

export const ResourceId = Type.String({ pattern: RESOURCE_ID_PATTERN });
export const PostgresUrl = Type.String({ minLength: 1, maxLength: POSTGRES_URL_MAX_LENGTH });
export const Reason = Type.String({ maxLength: REASON_MAX_LENGTH, description: 'Kept in the audit log.' });
export const ExpectedVersion = Type.Integer({
  minimum: 0,
  description: 'Refuse with 409 VERSION_CONFLICT unless the config is at this version.',
});
export const Percent = Type.Integer({ minimum: PERCENT_MIN, maximum: PERCENT_MAX });
/** Present but type-checked later (org ids: INVALID_ORG_ID). */
export const AnyValue = Type.Unknown({ description: 'An org id: an integer in 0..2^53-1 (else 400 INVALID_ORG_ID).' });
export const Digits = Type.String({ pattern: DIGITS_PATTERN });
export const OrgIdText = Type.String({ description: 'An org id in decimal (else 400 INVALID_ORG_ID).' });

/** Every mutating body may carry these. */
export const mutationMeta = {
  reason: Type.Optional(Reason),
  expectedVersion: Type.Optional(ExpectedVersion),
};

/** A request body: unknown fields are refused (INVALID_INPUT "is not a known field"). */
export function Body<T extends TProperties>(properties: T, options: { description?: string } = {}) {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/** A response document: fields outside the schema are never serialized. */
export const Doc = Body;

export function Query<T extends TProperties>(properties: T) {
  return Type.Object(properties);
}

export function Params<T extends TProperties>(properties: T) {
  return Type.Object(properties);
}

/**
 * `T | null`. A primitive becomes `{"type": [t, "null"]}`, which fast-json-stringify
 * writes directly; an `anyOf` would make it validate every value to pick a branch.
 */
export function Nullable<T extends TSchema>(schema: T) {
  const { type, ...rest } = schema as unknown as { type?: unknown };
  if (typeof type === 'string' && type !== 'object' && type !== 'array') {
    return Type.Unsafe<Static<T> | null>({ ...rest, type: [type, 'null'] });
  }
  return Type.Union([schema, Type.Null()]);
}

/**
 * The query string of every DELETE (DELETE requests usually carry no body); the same
 * two fields may come in an optional JSON body instead (http/deleteMeta.ts).
 */
export const DeleteMetaQuery = Query({ reason: Type.Optional(Reason), expectedVersion: Type.Optional(Digits) });

// Response parts.
export const Version = Type.Integer({ minimum: 0, description: 'The config version: one monotonically increasing integer.' });
export const OrgId = Type.Integer({ minimum: ORG_ID_MIN, maximum: ORG_ID_MAX, description: 'An org id: an integer in 0..2^53-1.' });
export const Timestamp = Type.String({ format: 'date-time' });
export const Count = Type.Integer({ minimum: 0 });

/** Every error: `{"error": {"code", "message", "hint"?, "errorId"?, "details"?}}`. */
export const ErrorBody = Doc(
  {
    error: Doc({
      code: Type.String({ description: 'Stable: branch on it, never on the message.' }),
      message: Type.String(),
      hint: Type.Optional(Type.String()),
      errorId: Type.Optional(Type.String({ description: 'Also in the log (500 INTERNAL).' })),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { description: 'WireError' },
);

/** The success answers of a route, plus the error body every route may answer with. */
export function responses<T extends Record<number, TSchema>>(success: T) {
  return { ...success, '4xx': ErrorBody, '5xx': ErrorBody };
}
