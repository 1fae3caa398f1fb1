// DELETE requests usually carry no body, so `reason` and `expectedVersion` may come in
// the query string or in an optional JSON body; fastify's body schema would demand one.
import type { FastifyRequest } from 'fastify';
import { InvalidInputError } from '../errors.js';

export interface DeleteMeta {
  reason?: string;
  expectedVersion?: number;
}

export function deleteMeta(request: FastifyRequest): DeleteMeta {
  const q = request.query as { reason?: string; expectedVersion?: string };
  const meta: DeleteMeta = {};
  if (q.reason !== undefined) meta.reason = q.reason;
  if (q.expectedVersion !== undefined) meta.expectedVersion = Number(q.expectedVersion);
  const body = request.body;
  if (body === undefined || body === null) return meta;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError('the request body must be a JSON object', { details: [{ field: 'body', message: 'must be object' }] });
  }
  for (const [key, value] of Object.entries(body)) {
    if (key === 'reason' && typeof value === 'string' && value.length <= 2000) meta.reason = value;
    else if (key === 'expectedVersion' && Number.isSafeInteger(value) && (value as number) >= 0) meta.expectedVersion = value as number;
    else if (key === 'reason' || key === 'expectedVersion') {
      throw new InvalidInputError(`${key} is invalid`, {
        details: [
          { field: key, message: key === 'reason' ? 'must be a string of at most 2000 characters' : 'must be a non-negative integer' },
        ],
      });
    } else throw new InvalidInputError(`${key} is not a known field`, { details: [{ field: key, message: 'is not a known field' }] });
  }
  return meta;
}
