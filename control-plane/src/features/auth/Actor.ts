export const SCOPES = ['admin', 'operator', 'rollout', 'sdk:read'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is making a change: the token's name and id, written to every audit row. */
export interface Actor {
  name: string;
  tokenId: string | null;
  scope: Scope;
}

/** The actor for tokens minted with createApiToken, before any token exists. */
export const BOOTSTRAP_ACTOR: Actor = { name: 'bootstrap', tokenId: null, scope: 'admin' };
