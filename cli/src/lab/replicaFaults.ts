// Make a lab replica lag or vanish on purpose, for runbooks, tests and chaos work:
// pause or resume its WAL replay (it keeps receiving WAL, its data stops moving), or
// stop and start its server. The control plane's health checker sees the effect.
import { LabError } from './errors.js';
import { fleetOf, isRunning, replicasOf, startStopped } from './fleet.js';
import { readState, resolveLabDir } from './state.js';

export const REPLICA_FAULTS = ['pause-replay', 'resume-replay', 'stop', 'start'] as const;
export type ReplicaFault = (typeof REPLICA_FAULTS)[number];

export interface LabReplicaResult {
  replica: string;
  action: ReplicaFault;
  running: boolean;
  /** pg_get_wal_replay_pause_state() while it runs: 'not paused', 'pause requested' or 'paused'. */
  replay: string | null;
}

export async function labReplica(opts: { dir?: string; replica: string; action: ReplicaFault }): Promise<LabReplicaResult> {
  const dir = resolveLabDir(opts.dir);
  const fleet = fleetOf(dir, await readState(dir));
  const replicas = replicasOf(fleet);
  const replica = replicas.find((r) => r.id === opts.replica);
  if (!replica) {
    throw new LabError(
      'LAB_REPLICA_NOT_FOUND',
      `the lab has no replica '${opts.replica}'`,
      replicas.length
        ? `its replicas: ${replicas.map((r) => r.id).join(', ')}`
        : 'this lab has no replicas: `orgplane lab up --replicas 2` in a new lab',
    );
  }
  const server = replica.server;
  if (opts.action === 'stop') {
    await server.stop('fast');
  } else if (opts.action === 'start') {
    await startStopped([replica]);
  } else {
    if (!isRunning(server)) {
      throw new LabError(
        'LAB_REPLICA_STOPPED',
        `replica '${replica.id}' is not running`,
        `start it: orgplane lab replica start ${replica.id}`,
      );
    }
    if (opts.action === 'pause-replay') await server.pauseReplay();
    else await server.resumeReplay();
  }
  const running = isRunning(server);
  return { replica: replica.id, action: opts.action, running, replay: running ? await server.replayPauseState() : null };
}
