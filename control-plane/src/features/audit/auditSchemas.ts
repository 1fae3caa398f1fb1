import { Type } from 'typebox';
import { AUDIT_ACTION_MAX_LENGTH } from '../../api/rules.js';
import { Digits, Doc, Nullable, Query, Timestamp } from '../../http/schemas.js';

export const AuditQuery = Query({
  limit: Type.Optional(Digits),
  action: Type.Optional(Type.String({ maxLength: AUDIT_ACTION_MAX_LENGTH, description: '<domain>.<verb>, for example shard-map.split.' })),
  before: Type.Optional(Digits),
});

export const AuditEntry = Doc({
  id: Type.Integer({ minimum: 1 }),
  actor: Type.String({ description: 'The token name (bootstrap for the first token).' }),
  tokenId: Nullable(Type.String()),
  action: Type.String({ description: '<domain>.<verb>' }),
  reason: Nullable(Type.String()),
  before: Type.Unknown({ description: 'The state as the API shows it; never a secret.' }),
  after: Type.Unknown(),
  version: Nullable(Type.Integer({ minimum: 1, description: 'null for changes outside the config (tokens).' })),
  createdAt: Timestamp,
});
export const AuditList = Doc({ entries: Type.Array(AuditEntry, { description: 'Newest first.' }) });
