import { Type } from 'typebox';
import { TOKEN_NAME_MAX_LENGTH } from '../../api/rules.js';
import { Body, Doc, Params, Reason, Timestamp } from '../../http/schemas.js';
import { SCOPES } from './Actor.js';

export const ScopeSchema = Type.Enum(SCOPES);
export const TokenId = Type.String({ pattern: '^[0-9a-f]{16}$', description: 'The id part of a token op_<id>_<secret>.' });

export const CreateTokenBody = Body({
  name: Type.String({ minLength: 1, maxLength: TOKEN_NAME_MAX_LENGTH }),
  scope: ScopeSchema,
  reason: Type.Optional(Reason),
});

export const TokenView = Doc({
  id: TokenId,
  name: Type.String(),
  scope: ScopeSchema,
  createdAt: Timestamp,
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});

export const CreatedToken = Doc(
  {
    id: TokenId,
    name: Type.String(),
    scope: ScopeSchema,
    token: Type.String({ description: 'op_<id>_<secret>: shown once, never stored.' }),
  },
  { description: 'The only answer that shows a token secret.' },
);
export const TokenList = Doc({ tokens: Type.Array(TokenView) });
export const RevokedToken = Doc({ id: TokenId, revokedAt: Timestamp });
export const TokenParams = Params({ id: Type.String() });
