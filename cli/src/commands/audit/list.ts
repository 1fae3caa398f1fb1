import * as Flags from '@oclif/core/flags';
import type { AuditEntry } from '@orgplane/control-plane';
import { AUDIT_LIMIT_MAX } from '@orgplane/control-plane/api/rules';
import { OrgplaneCommand } from '../../baseCommand.js';
import { formatTable } from '../../table.js';

export interface AuditListResult {
  entries: AuditEntry[];
}

export default class AuditList extends OrgplaneCommand<AuditListResult> {
  static override summary = 'Read the audit log: who changed what, why, and the version it made.';
  static override examples = ['<%= config.bin %> audit list', '<%= config.bin %> audit list --action shard-map.split --limit 5 --json'];
  static override flags = {
    limit: Flags.integer({ description: 'how many entries', default: 20, min: 1, max: AUDIT_LIMIT_MAX }),
    action: Flags.string({ description: 'only this action, for example shard-map.split' }),
    before: Flags.integer({ description: 'only entries older than this id (paging)', min: 1 }),
  };

  protected async execute(): Promise<AuditListResult> {
    const { flags } = await this.parse(AuditList);
    return this.api().get<AuditListResult>('/v1/audit', { limit: flags.limit, action: flags.action, before: flags.before });
  }

  protected render(result: AuditListResult): void {
    this.log(
      formatTable(result.entries as unknown as Record<string, unknown>[], ['id', 'createdAt', 'actor', 'action', 'version', 'reason']),
    );
  }
}
