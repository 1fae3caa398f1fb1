// The lab's memory between commands: <dir>/state.json (mode 0600, it holds the lab
// password and the admin token), and the paths every other module derives from <dir>.
import { existsSync } from 'node:fs';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LabConfig } from './config.js';
import { LabError } from './errors.js';
import type { TenantApiSlot } from './tenantApiProcess.js';

export interface ServerSlot {
  id: string;
  port: number;
}

export interface ReplicaSlot extends ServerSlot {
  /** Its physical replication slot on the primary; labs made before slots have none. */
  replicationSlot?: string;
}

export interface ClusterSlot extends ServerSlot {
  replicas: ReplicaSlot[];
}

export interface LabState extends LabConfig {
  version: 1;
  /** `creating` until the first `labUp` finished; a lab stuck there must be purged. */
  phase: 'creating' | 'ready';
  createdAt: string;
  /** One password for every Postgres server of the lab. */
  password: string;
  controlDb: ServerSlot;
  controlPlane: { port: number; pid: number | null; token: string | null; tokenId: string | null };
  /** Labs made before the lab ran Prometheus have none until their next `labUp`. */
  prometheus?: PrometheusSlot;
  fleet: ClusterSlot[];
  /** The tenant API's instances and their Redis; labs made before it have none until their next `labUp`. */
  tenantApi?: TenantApiSlot;
}

export interface PrometheusSlot {
  port: number;
  pid: number | null;
  /** The id of its scrape token (scope sdk:read); the token itself is only in its credentials file. */
  tokenId: string | null;
}

export const CONTROL_DB_ID = 'control-db';
export const CONTROL_PLANE_ID = 'control-plane';

export const labPaths = (dir: string) => ({
  state: path.join(dir, 'state.json'),
  /** Where the CLI finds the control plane: `.orgplane/context.json` beside the lab. */
  context: path.join(dir, '..', 'context.json'),
  labLog: path.join(dir, 'lab.log'),
  controlPlaneLog: path.join(dir, 'control-plane.log'),
  prometheus: {
    dir: path.join(dir, 'prometheus'),
    config: path.join(dir, 'prometheus', 'prometheus.yml'),
    data: path.join(dir, 'prometheus', 'data'),
    /** The control plane token it scrapes with, mode 0600. */
    credentials: path.join(dir, 'prometheus', 'control-plane.token'),
    log: path.join(dir, 'prometheus.log'),
  },
  dataDir: (serverId: string) => path.join(dir, serverId === CONTROL_DB_ID ? 'control' : serverId, 'data'),
});

export function resolveLabDir(dir: string | undefined): string {
  return path.resolve(dir ?? path.join(process.cwd(), '.orgplane', 'lab'));
}

export function hasState(dir: string): boolean {
  return existsSync(labPaths(dir).state);
}

export async function readState(dir: string): Promise<LabState> {
  const file = labPaths(dir).state;
  let state: LabState;
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as LabState;
  } catch (err) {
    throw new LabError(
      'LAB_INCOMPLETE',
      `cannot read the lab state ${file}: ${(err as Error).message}`,
      'run `orgplane lab down --purge`, then `orgplane lab up`',
    );
  }
  if (state.version !== 1 || typeof state.password !== 'string' || !Array.isArray(state.fleet)) {
    throw new LabError(
      'LAB_INCOMPLETE',
      `${file} is not a lab state this version understands`,
      'run `orgplane lab down --purge`, then `orgplane lab up`',
    );
  }
  return state;
}

/** Written whole to a temp file and renamed, so a crash never leaves half a state. */
export async function writeState(dir: string, state: LabState): Promise<void> {
  await writeSecretJson(labPaths(dir).state, state);
}

export async function writeSecretJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
