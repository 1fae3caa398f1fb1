import * as Flags from '@oclif/core/flags';
import { PLACEMENTS_LIMIT_DEFAULT, PLACEMENTS_LIMIT_MAX } from '@orgplane/control-plane/api/rules';
import type { WirePlacement } from '@orgplane/runtime/wire';
import { OrgplaneCommand } from '../../baseCommand.js';
import { formatTable } from '../../table.js';

/** One page of pins by org id; `nextAfter` is the `--after` of the next page, null on the last. */
export interface OrgsPinsResult {
  version: number;
  placements: WirePlacement[];
  nextAfter: number | null;
}

export default class OrgsPins extends OrgplaneCommand<OrgsPinsResult> {
  static override summary = 'List per-org pins (placements) that override the range map, by org id.';
  static override examples = [
    '<%= config.bin %> orgs pins',
    '<%= config.bin %> orgs pins --cluster primary-2 --limit 500 --after 4200 --json',
  ];
  static override flags = {
    cluster: Flags.string({ description: 'only the pins to this cluster' }),
    limit: Flags.integer({ description: 'how many pins', default: PLACEMENTS_LIMIT_DEFAULT, min: 1, max: PLACEMENTS_LIMIT_MAX }),
    after: Flags.integer({ description: 'only org ids above this one (paging)', min: 0 }),
  };

  protected async execute(): Promise<OrgsPinsResult> {
    const { flags } = await this.parse(OrgsPins);
    const page = await this.api().get<{ version: number; placements: WirePlacement[] }>('/v1/placements', {
      clusterId: flags.cluster,
      limit: flags.limit,
      after: flags.after,
    });
    const last = page.placements.at(-1);
    return { ...page, nextAfter: page.placements.length === flags.limit && last ? last.orgId : null };
  }

  protected render(r: OrgsPinsResult): void {
    if (r.placements.length === 0) this.log('no pins: every org follows its range');
    else this.log(formatTable(r.placements as unknown as Record<string, unknown>[], ['orgId', 'clusterId', 'state', 'epoch']));
    this.log(`\nconfig version ${r.version}${r.nextAfter === null ? '' : `; more with --after ${r.nextAfter}`}`);
  }
}
