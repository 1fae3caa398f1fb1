import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { responses } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { ReplicaHealthService } from './ReplicaHealthService.js';
import {
  DrainBody,
  HealthSettingsDoc,
  ReplicaChange,
  ReplicaIdParams,
  ReplicaList,
  ReplicaListQuery,
  UpdateHealthSettingsBody,
} from './replicaHealthSchemas.js';

export function registerReplicaHealthRoutes(fastify: FastifyInstance, health: ReplicaHealthService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/replicas',
    {
      config: { auth: ALLOW.read },
      schema: {
        summary: 'Every replica with its state and last probe (lag in seconds and bytes); ?cluster= for one cluster',
        querystring: ReplicaListQuery,
        response: responses({ 200: ReplicaList }),
      },
    },
    async (request) => health.list(request.query.cluster),
  );

  app.get(
    '/v1/replicas/settings',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'The replica-health thresholds', response: responses({ 200: HealthSettingsDoc }) },
    },
    async () => health.settings(),
  );

  app.patch(
    '/v1/replicas/settings',
    {
      config: { auth: ALLOW.replicaWrite },
      schema: {
        summary: 'Change replica-health thresholds (audited; the warning lag must stay below the critical lag)',
        body: UpdateHealthSettingsBody,
        response: responses({ 200: HealthSettingsDoc }),
      },
    },
    async (request) => {
      const { reason, ...patch } = request.body;
      return health.updateSettings(actorOf(request), patch, reason);
    },
  );

  app.post(
    '/v1/replicas/:id/drain',
    {
      config: { auth: ALLOW.replicaWrite },
      schema: {
        summary: 'Take a replica out of rotation (state draining; a config change)',
        params: ReplicaIdParams,
        body: DrainBody,
        response: responses({ 200: ReplicaChange }),
      },
    },
    async (request) => health.drain(actorOf(request), request.params.id, request.body?.reason),
  );

  app.post(
    '/v1/replicas/:id/undrain',
    {
      config: { auth: ALLOW.replicaWrite },
      schema: {
        summary: 'Put a drained replica back (it serves reads again once its probes say healthy)',
        params: ReplicaIdParams,
        body: DrainBody,
        response: responses({ 200: ReplicaChange }),
      },
    },
    async (request) => health.undrain(actorOf(request), request.params.id, request.body?.reason),
  );
}
