import type { FastifyInstance } from 'fastify';
import { deleteMeta, deleteMetaSchema } from '../../http/deleteMeta.js';
import { body, mutationMeta } from '../../http/schemas.js';
import { SCOPES, type Scope } from './Actor.js';
import { ALLOW, actorOf } from './authHook.js';
import type { TokenService } from './TokenService.js';

export function registerTokenRoutes(app: FastifyInstance, tokens: TokenService): void {
  app.post<{ Body: { name: string; scope: Scope; reason?: string } }>(
    '/v1/tokens',
    {
      config: { auth: ALLOW.admin },
      schema: {
        body: body(
          { name: { type: 'string', minLength: 1, maxLength: 200 }, scope: { type: 'string', enum: SCOPES }, reason: mutationMeta.reason },
          ['name', 'scope'],
        ),
      },
    },
    async (request, reply) => {
      const created = await tokens.create(actorOf(request), request.body);
      return reply.code(201).send(created);
    },
  );

  app.get('/v1/tokens', { config: { auth: ALLOW.admin } }, async () => ({ tokens: await tokens.list() }));

  app.delete<{ Params: { id: string } }>('/v1/tokens/:id', { config: { auth: ALLOW.admin }, schema: deleteMetaSchema }, async (request) =>
    tokens.revoke(actorOf(request), request.params.id, deleteMeta(request).reason),
  );
}
