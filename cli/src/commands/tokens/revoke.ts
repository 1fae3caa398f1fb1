import { OrgplaneCommand } from '../../baseCommand.js';
import { reasonFlag, tokenIdArg, yesFlag } from '../../flags.js';

/** The control plane's answer; revoking a revoked token answers its first revocation. */
export interface TokensRevokeResult {
  id: string;
  revokedAt: string;
}

export default class TokensRevoke extends OrgplaneCommand<TokensRevokeResult> {
  static override summary = 'Revoke an API token: every control-plane instance refuses it (401) from the next request on.';
  static override examples = [
    '<%= config.bin %> tokens revoke 3f9c2a71b04e8d65 --reason "leaked in a log" --yes',
    '<%= config.bin %> tokens revoke 3f9c2a71b04e8d65 --yes --json',
  ];
  static override args = {
    id: tokenIdArg({ description: 'the token id, from `orgplane tokens list`', required: true }),
  };
  static override flags = {
    reason: reasonFlag,
    yes: yesFlag,
  };

  protected async execute(): Promise<TokensRevokeResult> {
    const { args, flags } = await this.parse(TokensRevoke);
    const { id } = args;
    await this.confirm(`Revoke token ${id}? Whatever uses it is refused from its next request on.`, flags.yes);
    return this.api().send<TokensRevokeResult>(
      'DELETE',
      `/v1/tokens/${id}`,
      flags.reason === undefined ? undefined : { reason: flags.reason },
    );
  }

  protected render(r: TokensRevokeResult): void {
    this.log(`token ${r.id} revoked at ${r.revokedAt}`);
  }
}
