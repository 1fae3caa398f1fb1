import { Type } from 'typebox';
import { Body, Doc, Nullable, Params, Query, Reason, ResourceId, Timestamp, Version } from '../../http/schemas.js';
import { ReplicaHealthState } from '../../http/wireSchemas.js';

const ProbedState = Type.Enum(['unknown', 'healthy', 'lagging', 'unhealthy', 'unreachable']);

export const ReplicaHealthView = Doc(
  {
    id: ResourceId,
    clusterId: ResourceId,
    state: ReplicaHealthState,
    probedState: ProbedState,
    drained: Type.Boolean(),
    stateSince: Nullable(Timestamp),
    lagSeconds: Nullable(Type.Number({ minimum: 0 })),
    lagBytes: Nullable(Type.Integer({ minimum: 0 })),
    checkedAt: Nullable(Timestamp),
    probeError: Nullable(Type.String()),
  },
  {
    description:
      'A replica as the health checker last probed it. `state` is what runtimes route by (`draining` while drained, else `probedState`); the lag figures are the last probe.',
  },
);

export const ReplicaListQuery = Query({ cluster: Type.Optional(Type.String()) });
export const ReplicaList = Doc({ version: Version, replicas: Type.Array(ReplicaHealthView) });
export const ReplicaIdParams = Params({ id: Type.String() });
export const DrainBody = Type.Union([Body({ reason: Type.Optional(Reason) }), Type.Null()]);
export const ReplicaChange = Doc({ version: Version, replica: ReplicaHealthView });

const settingsFields = {
  lagWarnSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description: 'healthy below it, lagging from it' }),
  lagCriticalSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description: 'unhealthy from it; above lagWarnSeconds' }),
  lagCriticalBytes: Type.Integer({ minimum: 1, description: 'unhealthy from this many bytes of WAL not yet replayed' }),
  unreachableAfterProbes: Type.Integer({ minimum: 1, maximum: 100, description: 'failed probes in a row before unreachable' }),
  healthyAfterProbes: Type.Integer({ minimum: 1, maximum: 100, description: 'better probes in a row before a better state (hysteresis)' }),
  probeTimeoutMs: Type.Integer({ minimum: 50, maximum: 60_000, description: 'connect and statement timeout of a probe' }),
};
export const HealthSettingsDoc = Doc(settingsFields, { description: 'The thresholds the health checker judges replicas by.' });
export const UpdateHealthSettingsBody = Body({
  lagWarnSeconds: Type.Optional(settingsFields.lagWarnSeconds),
  lagCriticalSeconds: Type.Optional(settingsFields.lagCriticalSeconds),
  lagCriticalBytes: Type.Optional(settingsFields.lagCriticalBytes),
  unreachableAfterProbes: Type.Optional(settingsFields.unreachableAfterProbes),
  healthyAfterProbes: Type.Optional(settingsFields.healthyAfterProbes),
  probeTimeoutMs: Type.Optional(settingsFields.probeTimeoutMs),
  reason: Type.Optional(Reason),
});
