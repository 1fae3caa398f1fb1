import type { Database } from '../../db/Database.js';
import { TokenNotFoundError, UnauthorizedError } from '../../errors.js';
import type { Stores } from '../../stores.js';
import type { Actor, Scope } from './Actor.js';
import { type ApiTokenView, toTokenView } from './ApiTokenStore.js';
import { generateToken, hashSecret, parseToken, secretMatches } from './tokenFormat.js';

export interface CreatedToken extends Omit<ApiTokenView, 'createdAt' | 'revokedAt'> {
  /** `op_<id>_<secret>`: shown once, never stored. */
  token: string;
}

export class TokenService {
  constructor(private readonly db: Database<Stores>) {}

  async create(actor: Actor, input: { name: string; scope: Scope; reason?: string | undefined }): Promise<CreatedToken> {
    const { id, secret, token } = generateToken();
    return this.db.transaction(async (stores) => {
      const record = await stores.tokens.insert({ id, name: input.name, scope: input.scope, secretHash: hashSecret(secret) });
      const view = toTokenView(record);
      await stores.audit.insert({ actor, action: 'token.create', reason: input.reason ?? null, before: null, after: view, version: null });
      return { id, name: record.name, scope: record.scope, token };
    });
  }

  async list(): Promise<ApiTokenView[]> {
    return (await this.db.stores.tokens.list()).map(toTokenView);
  }

  /** Idempotent: revoking a revoked token answers its first revocation time. */
  async revoke(actor: Actor, id: string, reason?: string): Promise<{ id: string; revokedAt: string }> {
    return this.db.transaction(async (stores) => {
      const before = await stores.tokens.get(id);
      if (!before) throw new TokenNotFoundError(id);
      const after = await stores.tokens.revoke(id);
      if (!after?.revokedAt) {
        // Already revoked (perhaps a moment ago, by a concurrent request): nothing changes.
        const current = await stores.tokens.get(id);
        return { id, revokedAt: current?.revokedAt ?? before.revokedAt ?? new Date().toISOString() };
      }
      await stores.audit.insert({
        actor,
        action: 'token.revoke',
        reason: reason ?? null,
        before: toTokenView(before),
        after: toTokenView(after),
        version: null,
      });
      return { id, revokedAt: after.revokedAt };
    });
  }

  /** The actor behind an Authorization header, or UnauthorizedError. */
  async authenticate(header: string | undefined): Promise<Actor> {
    const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    if (!match?.[1]) throw new UnauthorizedError('this endpoint needs Authorization: Bearer <token>');
    const parts = parseToken(match[1]);
    if (!parts) throw new UnauthorizedError('the bearer token is not an orgplane token (op_<id>_<secret>)');
    const record = await this.db.stores.tokens.get(parts.id);
    if (!record || record.revokedAt || !secretMatches(parts.secret, record.secretHash)) {
      throw new UnauthorizedError('the bearer token is unknown or revoked');
    }
    return { name: record.name, tokenId: record.id, scope: record.scope };
  }
}
