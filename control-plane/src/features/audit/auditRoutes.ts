import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX } from '../../api/rules.js';
import { parseCount, parseLimit } from '../../http/queryParams.js';
import { responses } from '../../http/schemas.js';
import { ALLOW } from '../auth/authHook.js';
import type { AuditStore } from './AuditStore.js';
import { AuditList, AuditQuery } from './auditSchemas.js';

export function registerAuditRoutes(fastify: FastifyInstance, audit: AuditStore): void {
  fastify.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/audit',
    {
      config: { auth: ALLOW.auditRead },
      schema: { summary: 'The audit log, newest first', querystring: AuditQuery, response: responses({ 200: AuditList }) },
    },
    async (request) => {
      const beforeId = parseCount(request.query.before, 'before');
      return {
        entries: await audit.list({
          limit: parseLimit(request.query.limit, AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX),
          ...(request.query.action ? { action: request.query.action } : {}),
          ...(beforeId === undefined ? {} : { beforeId }),
        }),
      };
    },
  );
}
