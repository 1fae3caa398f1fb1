import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { responses } from '../../http/schemas.js';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW } from '../auth/authHook.js';
import type { OrgLocationReadModel } from './OrgLocationReadModel.js';
import { OrgLocation, OrgParams } from './orgSchemas.js';

export function registerOrgRoutes(fastify: FastifyInstance, locations: OrgLocationReadModel): void {
  fastify.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/orgs/:orgId/location',
    {
      config: { auth: ALLOW.configRead },
      schema: { summary: 'Where an org lives', params: OrgParams, response: responses({ 200: OrgLocation }) },
    },
    async (request) => locations.locate(parseOrgIdText(request.params.orgId, 'orgId')),
  );
}
