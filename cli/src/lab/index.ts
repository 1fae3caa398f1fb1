// The lab: a real local fleet (control DB, clusters with streaming replicas, seeded
// orgs, the control plane) for `orgplane lab up|status|down`.
export { DEFAULT_CONFIG, type LabConfig, ORG_ID_MAX, type OrgBlock, orgBlocks } from './config.js';
export { type LabDownOptions, type LabDownResult, labDown } from './down.js';
export { LabError, type LabErrorCode } from './errors.js';
export { type LabReplicaResult, labReplica, REPLICA_FAULTS, type ReplicaFault } from './replicaFaults.js';
export { type OrgShape, type OrgSize, orgShape, SHAPES, seedOrgs } from './seed.js';
export {
  type ClusterStatus,
  type ControlPlaneStatus,
  type LabAbsent,
  type LabPresent,
  type LabStatus,
  labStatus,
  type PrometheusStatus,
  type ReplicaStatus,
  type ServerStatus,
} from './status.js';
export { runQuietly, type Step, type StepReport, type StepRunner } from './steps.js';
export { type LabUpOptions, type LabUpResult, labUp } from './up.js';
