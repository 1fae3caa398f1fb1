import type { ClusterState } from '@orgplane/runtime/wire';
import type { FastifyInstance } from 'fastify';
import { deleteMeta, deleteMetaSchema } from '../../http/deleteMeta.js';
import { body, mutationMeta, postgresUrl, resourceId } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { ClusterService, CreateClusterInput, MutationMeta } from './ClusterService.js';

const clusterState = { type: 'string', enum: ['active', 'draining', 'retired'] } as const;
const replica = body({ id: resourceId, url: postgresUrl }, ['id', 'url']);

export function registerClusterRoutes(app: FastifyInstance, clusters: ClusterService): void {
  app.get('/v1/clusters', { config: { auth: ALLOW.read } }, async () => clusters.list());

  app.get<{ Params: { id: string } }>('/v1/clusters/:id', { config: { auth: ALLOW.read } }, async (request) =>
    clusters.get(request.params.id),
  );

  app.post<{ Body: CreateClusterInput }>(
    '/v1/clusters',
    {
      config: { auth: ALLOW.admin },
      schema: {
        body: body(
          {
            id: resourceId,
            primary: body({ url: postgresUrl }, ['url']),
            replicas: { type: 'array', maxItems: 64, items: replica },
            state: clusterState,
            ...mutationMeta,
          },
          ['id', 'primary'],
        ),
      },
    },
    async (request, reply) => reply.code(201).send(await clusters.create(actorOf(request), request.body)),
  );

  app.patch<{ Params: { id: string }; Body: MutationMeta & { state: ClusterState } }>(
    '/v1/clusters/:id',
    { config: { auth: ALLOW.admin }, schema: { body: body({ state: clusterState, ...mutationMeta }, ['state']) } },
    async (request) => clusters.update(actorOf(request), request.params.id, request.body),
  );

  app.post<{ Params: { id: string }; Body: MutationMeta & { id: string; url: string } }>(
    '/v1/clusters/:id/replicas',
    { config: { auth: ALLOW.admin }, schema: { body: body({ id: resourceId, url: postgresUrl, ...mutationMeta }, ['id', 'url']) } },
    async (request, reply) => reply.code(201).send(await clusters.addReplica(actorOf(request), request.params.id, request.body)),
  );

  app.delete<{ Params: { id: string; replicaId: string } }>(
    '/v1/clusters/:id/replicas/:replicaId',
    { config: { auth: ALLOW.admin }, schema: deleteMetaSchema },
    async (request) => clusters.removeReplica(actorOf(request), request.params.id, request.params.replicaId, deleteMeta(request)),
  );
}
