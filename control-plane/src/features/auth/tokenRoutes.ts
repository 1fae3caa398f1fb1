import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { deleteMeta } from '../../http/deleteMeta.js';
import { DeleteMetaQuery, responses } from '../../http/schemas.js';
import { ALLOW, actorOf } from './authHook.js';
import type { TokenService } from './TokenService.js';
import { CreatedToken, CreateTokenBody, RevokedToken, TokenList, TokenParams } from './tokenSchemas.js';

export function registerTokenRoutes(fastify: FastifyInstance, tokens: TokenService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/tokens',
    {
      config: { auth: ALLOW.admin },
      schema: { summary: 'Mint a token', body: CreateTokenBody, response: responses({ 201: CreatedToken }) },
    },
    async (request, reply) => reply.code(201).send(await tokens.create(actorOf(request), request.body)),
  );

  app.get(
    '/v1/tokens',
    { config: { auth: ALLOW.admin }, schema: { summary: 'List tokens (never their secrets)', response: responses({ 200: TokenList }) } },
    async () => ({ tokens: await tokens.list() }),
  );

  app.delete(
    '/v1/tokens/:id',
    {
      config: { auth: ALLOW.admin },
      schema: { summary: 'Revoke a token', params: TokenParams, querystring: DeleteMetaQuery, response: responses({ 200: RevokedToken }) },
    },
    async (request) => tokens.revoke(actorOf(request), request.params.id, deleteMeta(request).reason),
  );
}
