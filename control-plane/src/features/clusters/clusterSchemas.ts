import { Type } from 'typebox';
import { MAX_REPLICAS_PER_CLUSTER } from '../../api/rules.js';
import { Body, Doc, mutationMeta, Params, PostgresUrl, ResourceId, Version } from '../../http/schemas.js';
import { ClusterState, WireClusterSchema } from '../../http/wireSchemas.js';

const ReplicaInput = Body({ id: ResourceId, url: PostgresUrl });

export const CreateClusterBody = Body({
  id: ResourceId,
  primary: Body({ url: PostgresUrl }),
  replicas: Type.Optional(Type.Array(ReplicaInput, { maxItems: MAX_REPLICAS_PER_CLUSTER })),
  state: Type.Optional(ClusterState),
  ...mutationMeta,
});
export const UpdateClusterBody = Body({ state: ClusterState, ...mutationMeta });
export const AddReplicaBody = Body({ id: ResourceId, url: PostgresUrl, ...mutationMeta });

export const ClusterParams = Params({ id: Type.String() });
export const ReplicaParams = Params({ id: Type.String(), replicaId: Type.String() });

export const ClusterList = Doc({ version: Version, clusters: Type.Array(WireClusterSchema) });
export const ClusterDetail = Doc({
  ...WireClusterSchema.properties,
  rangeCount: Type.Integer({ minimum: 0 }),
  placementCount: Type.Integer({ minimum: 0 }),
});
export const ClusterChange = Doc({ version: Version, cluster: WireClusterSchema });
