import * as Flags from '@oclif/core/flags';
import type { ReplicaListDoc } from '@orgplane/control-plane/api';
import { OrgplaneCommand } from '../../baseCommand.js';
import { formatTable } from '../../table.js';

export type ReplicasListResult = ReplicaListDoc;

export default class ReplicasList extends OrgplaneCommand<ReplicasListResult> {
  static override summary = 'List replicas with their state, lag in seconds and bytes, last probe, and state since when.';
  static override description =
    "Only `healthy` replicas take reads; `draining` is set by `replicas drain`, the other states by the control plane's health checker (thresholds: `replicas settings`).";
  static override examples = [
    '<%= config.bin %> replicas list',
    '<%= config.bin %> replicas list --cluster primary-1',
    '<%= config.bin %> replicas list --json',
  ];
  static override flags = {
    cluster: Flags.string({ description: 'only the replicas of this cluster' }),
  };

  protected async execute(): Promise<ReplicasListResult> {
    const { flags } = await this.parse(ReplicasList);
    return this.api().get<ReplicasListResult>('/v1/replicas', { cluster: flags.cluster });
  }

  protected render(result: ReplicasListResult): void {
    const rows = result.replicas.map((r) => ({
      id: r.id,
      cluster: r.clusterId,
      state: r.state,
      'lag s': r.lagSeconds === null ? '-' : r.lagSeconds.toFixed(1),
      'lag bytes': r.lagBytes === null ? '-' : String(r.lagBytes),
      'last probe': r.checkedAt ?? '-',
      since: r.stateSince ?? '-',
    }));
    this.log(rows.length ? formatTable(rows, ['id', 'cluster', 'state', 'lag s', 'lag bytes', 'last probe', 'since']) : 'No replicas.');
    for (const r of result.replicas) if (r.probeError) this.log(`${r.id}: last probe failed: ${r.probeError}`);
  }
}
