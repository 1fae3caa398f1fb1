import * as Flags from '@oclif/core/flags';
import { OrgplaneCommand } from '../../baseCommand.js';
import { originArg, reasonFlag } from '../../flags.js';

export interface CorsChangeResult {
  version: number;
  origin: string;
  origins: string[];
}

export default class CorsAdd extends OrgplaneCommand<CorsChangeResult> {
  static override summary = 'Allow an origin (scheme://host[:port]); running services apply it within a second.';
  static override examples = [
    '<%= config.bin %> cors add https://app.example.com --reason "web app"',
    '<%= config.bin %> cors add http://localhost:5173 --json',
  ];
  static override args = { origin: originArg({ description: 'the origin, e.g. https://app.example.com', required: true }) };
  static override flags = {
    'expected-version': Flags.integer({ description: 'refuse (409) unless the config is still at this version', min: 0 }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<CorsChangeResult> {
    const { args, flags } = await this.parse(CorsAdd);
    return this.api().send<CorsChangeResult>('POST', '/v1/cors/origins', {
      origin: args.origin,
      reason: flags.reason,
      expectedVersion: flags['expected-version'],
    });
  }

  protected render(r: CorsChangeResult): void {
    this.log(`allowed ${r.origin} (${r.origins.length} origin(s); config version ${r.version})`);
  }
}
