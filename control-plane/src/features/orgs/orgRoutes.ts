import type { FastifyInstance } from 'fastify';
import { parseOrgIdText } from '../../lib/orgId.js';
import { ALLOW } from '../auth/authHook.js';
import type { OrgLocationReadModel } from './OrgLocationReadModel.js';

export function registerOrgRoutes(app: FastifyInstance, locations: OrgLocationReadModel): void {
  app.get<{ Params: { orgId: string } }>('/v1/orgs/:orgId/location', { config: { auth: ALLOW.configRead } }, async (request) =>
    locations.locate(parseOrgIdText(request.params.orgId, 'orgId')),
  );
}
