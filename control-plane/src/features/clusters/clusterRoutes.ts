import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { deleteMeta } from '../../http/deleteMeta.js';
import { DeleteMetaQuery, responses } from '../../http/schemas.js';
import { ALLOW, actorOf } from '../auth/authHook.js';
import type { ClusterService } from './ClusterService.js';
import {
  AddReplicaBody,
  ClusterChange,
  ClusterDetail,
  ClusterList,
  ClusterParams,
  CreateClusterBody,
  ReplicaParams,
  UpdateClusterBody,
} from './clusterSchemas.js';

export function registerClusterRoutes(fastify: FastifyInstance, clusters: ClusterService): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/clusters',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'List clusters (URLs without passwords)', response: responses({ 200: ClusterList }) },
    },
    async () => clusters.list(),
  );

  app.get(
    '/v1/clusters/:id',
    {
      config: { auth: ALLOW.read },
      schema: { summary: 'One cluster', params: ClusterParams, response: responses({ 200: ClusterDetail }) },
    },
    async (request) => clusters.get(request.params.id),
  );

  app.post(
    '/v1/clusters',
    {
      config: { auth: ALLOW.admin },
      schema: { summary: 'Register a cluster', body: CreateClusterBody, response: responses({ 201: ClusterChange }) },
    },
    async (request, reply) => reply.code(201).send(await clusters.create(actorOf(request), request.body)),
  );

  app.patch(
    '/v1/clusters/:id',
    {
      config: { auth: ALLOW.admin },
      schema: {
        summary: "Change a cluster's state",
        params: ClusterParams,
        body: UpdateClusterBody,
        response: responses({ 200: ClusterChange }),
      },
    },
    async (request) => clusters.update(actorOf(request), request.params.id, request.body),
  );

  app.post(
    '/v1/clusters/:id/replicas',
    {
      config: { auth: ALLOW.admin },
      schema: { summary: 'Add a replica', params: ClusterParams, body: AddReplicaBody, response: responses({ 201: ClusterChange }) },
    },
    async (request, reply) => reply.code(201).send(await clusters.addReplica(actorOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/v1/clusters/:id/replicas/:replicaId',
    {
      config: { auth: ALLOW.admin },
      schema: {
        summary: 'Remove a replica',
        params: ReplicaParams,
        querystring: DeleteMetaQuery,
        response: responses({ 200: ClusterChange }),
      },
    },
    async (request) => clusters.removeReplica(actorOf(request), request.params.id, request.params.replicaId, deleteMeta(request)),
  );
}
