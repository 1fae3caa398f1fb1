// `op_<id>_<secret>`: the id finds the row, the secret proves possession. Only
// sha256(secret) is stored; the secret is shown once, when the token is created.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenParts {
  id: string;
  secret: string;
}

const TOKEN_PATTERN = /^op_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function generateToken(): TokenParts & { token: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `op_${id}_${secret}` };
}

export function parseToken(token: string): TokenParts | null {
  const match = TOKEN_PATTERN.exec(token);
  return match?.[1] && match[2] ? { id: match[1], secret: match[2] } : null;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
