import type { WireCluster } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { formatTable } from '../../table.js';

export interface ClustersListResult {
  version: number;
  clusters: WireCluster[];
}

export default class ClustersList extends OrgplaneCommand<ClustersListResult> {
  static override summary = 'List the Postgres clusters the control plane knows, with their replicas.';
  static override examples = ['<%= config.bin %> clusters list', '<%= config.bin %> clusters list --json'];

  protected async execute(): Promise<ClustersListResult> {
    await this.parse(ClustersList);
    return this.api().get<ClustersListResult>('/v1/clusters');
  }

  protected render(result: ClustersListResult): void {
    const rows = result.clusters.map((c) => ({
      id: c.id,
      state: c.state,
      primary: c.primary.url,
      replicas: c.replicas.map((r) => r.id).join(', ') || '-',
    }));
    this.log(formatTable(rows, ['id', 'state', 'primary', 'replicas']));
    this.log(`\nconfig version ${result.version}`);
  }
}
