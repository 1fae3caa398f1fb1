import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { originArg, reasonFlag, yesFlag } from '../../flags.js';
import type { CorsChangeResult } from './add.js';

export default class CorsRemove extends OrgplaneCommand<CorsChangeResult> {
  static override summary = 'Remove an origin from the CORS allow-list: browsers on it lose access within a second.';
  static override examples = [
    '<%= config.bin %> cors remove https://old.example.com --yes',
    '<%= config.bin %> cors remove http://localhost:5173 --yes --json',
  ];
  static override args = { origin: originArg({ description: 'the origin', required: true }) };
  static override flags = {
    'expected-version': Flags.integer({ description: 'refuse (409) unless the config is still at this version', min: 0 }),
    reason: reasonFlag,
    yes: yesFlag,
  };

  protected async execute(): Promise<CorsChangeResult> {
    const { args, flags } = await this.parse(CorsRemove);
    await this.confirm(`Remove ${args.origin} from the CORS allow-list? Browser apps on it stop working.`, flags.yes);
    const query = new URLSearchParams();
    if (flags.reason !== undefined) query.set('reason', flags.reason);
    if (flags['expected-version'] !== undefined) query.set('expectedVersion', String(flags['expected-version']));
    const path = `/v1/cors/origins/${encodeURIComponent(args.origin)}`;
    return this.api().send<CorsChangeResult>('DELETE', query.size === 0 ? path : `${path}?${query}`);
  }

  protected render(r: CorsChangeResult): void {
    this.log(`removed ${r.origin} (${r.origins.length} origin(s) left; config version ${r.version})`);
  }
}
