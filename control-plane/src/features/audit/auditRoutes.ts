import type { FastifyInstance } from 'fastify';
import { parseCount, parseLimit } from '../../http/queryParams.js';
import { digits, query } from '../../http/schemas.js';
import { ALLOW } from '../auth/authHook.js';
import type { AuditStore } from './AuditStore.js';

export function registerAuditRoutes(app: FastifyInstance, audit: AuditStore): void {
  app.get<{ Querystring: { limit?: string; action?: string; before?: string } }>(
    '/v1/audit',
    {
      config: { auth: ALLOW.auditRead },
      schema: { querystring: query({ limit: digits, action: { type: 'string', maxLength: 100 }, before: digits }) },
    },
    async (request) => {
      const beforeId = parseCount(request.query.before, 'before');
      return {
        entries: await audit.list({
          limit: parseLimit(request.query.limit, 50, 1000),
          ...(request.query.action ? { action: request.query.action } : {}),
          ...(beforeId === undefined ? {} : { beforeId }),
        }),
      };
    },
  );
}
