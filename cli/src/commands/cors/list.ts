import { OrgplaneCommand } from '../../baseCommand.js';

export interface CorsListResult {
  version: number;
  origins: string[];
}

export default class CorsList extends OrgplaneCommand<CorsListResult> {
  static override summary = 'List the origins on the CORS allow-list (credentials are allowed for these only).';
  static override examples = ['<%= config.bin %> cors list', '<%= config.bin %> cors list --json'];

  protected async execute(): Promise<CorsListResult> {
    await this.parse(CorsList);
    return this.api().get<CorsListResult>('/v1/cors');
  }

  protected render(r: CorsListResult): void {
    this.log(r.origins.length === 0 ? 'no allowed origins: browsers get no CORS headers' : r.origins.join('\n'));
    this.log(`\nconfig version ${r.version}`);
  }
}
