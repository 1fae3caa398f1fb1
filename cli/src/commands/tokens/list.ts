import type { ApiTokenView } from '@orgplane/control-plane';
import { OrgplaneCommand } from '../../baseCommand.js';
import { formatTable } from '../../table.js';

/** Every token, revoked ones too; ids, names and scopes, never secrets. */
export interface TokensListResult {
  tokens: ApiTokenView[];
}

export default class TokensList extends OrgplaneCommand<TokensListResult> {
  static override summary = 'List API tokens (id, name, scope, created, revoked); secrets are never shown.';
  static override examples = ['<%= config.bin %> tokens list', '<%= config.bin %> tokens list --json'];

  protected async execute(): Promise<TokensListResult> {
    await this.parse(TokensList);
    return this.api().get<TokensListResult>('/v1/tokens');
  }

  protected render(result: TokensListResult): void {
    this.log(formatTable(result.tokens as unknown as Record<string, unknown>[], ['id', 'name', 'scope', 'createdAt', 'revokedAt']));
  }
}
