// Every route declares who may call it in `config.auth`; a route without one refuses
// to register, so nothing is public by accident. The check runs at onRequest, before
// the body is read: a caller without a token learns nothing about the body rules.
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ForbiddenError } from '../../errors.js';
import type { Actor, Scope } from './Actor.js';
import type { TokenService } from './TokenService.js';

/** `public`: no token; `any`: any valid token; a list: those scopes (admin always passes). */
export type RouteAuth = 'public' | 'any' | readonly Scope[];

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /** Also accept `Authorization: <token>` without a scheme, as Unleash SDKs send it. */
    rawToken?: boolean;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** Scopes by what a route does, as API.md's table lists them. */
export const ALLOW = {
  configRead: ['sdk:read', 'operator', 'rollout'],
  read: ['operator', 'rollout'],
  shardMapWrite: ['operator'],
  replicaWrite: ['operator'],
  auditRead: ['operator'],
  rolloutWrite: ['rollout'],
  guardsWrite: ['operator'],
  admin: [],
  unleashClient: ['sdk:read'],
} as const satisfies Record<string, readonly Scope[]>;

export function installAuth(app: FastifyInstance, tokens: TokenService): void {
  app.decorateRequest('actor', null);
  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth;
    if (auth === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no config.auth`);
    if (auth === 'public') return;
    const rawToken = route.config?.rawToken === true;
    const check: onRequestAsyncHookHandler = async (request) => {
      const header = request.headers.authorization;
      const actor = await tokens.authenticate(rawToken ? asBearer(header) : header);
      if (auth !== 'any' && actor.scope !== 'admin' && !auth.includes(actor.scope)) {
        const needed = ['admin', ...auth].join(', ');
        throw new ForbiddenError(`this needs a token with scope ${needed}; '${actor.name}' has ${actor.scope}`, {
          hint: 'ask an admin for a token with the right scope (POST /v1/tokens)',
          details: { requiredScopes: ['admin', ...auth], scope: actor.scope },
        });
      }
      request.actor = actor;
    };
    const existing = route.onRequest;
    route.onRequest = existing === undefined ? [check] : Array.isArray(existing) ? [check, ...existing] : [check, existing];
  });
}

/** `<token>` -> `Bearer <token>`; a header that already names a scheme stays as it is. */
export function asBearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  return /^\S+$/.test(value) ? `Bearer ${value}` : header;
}

/** The authenticated caller of a route that is not public. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error(`no actor on ${request.method} ${request.routeOptions.url}: is the route public?`);
  return request.actor;
}
