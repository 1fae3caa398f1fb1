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
  auditRead: ['operator'],
  rolloutWrite: ['rollout'],
  admin: [],
} as const satisfies Record<string, readonly Scope[]>;

export function installAuth(app: FastifyInstance, tokens: TokenService): void {
  app.decorateRequest('actor', null);
  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth;
    if (auth === undefined) throw new Error(`route ${String(route.method)} ${route.url} declares no config.auth`);
    if (auth === 'public') return;
    const check: onRequestAsyncHookHandler = async (request) => {
      const actor = await tokens.authenticate(request.headers.authorization);
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

/** The authenticated caller of a route that is not public. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error(`no actor on ${request.method} ${request.routeOptions.url}: is the route public?`);
  return request.actor;
}
