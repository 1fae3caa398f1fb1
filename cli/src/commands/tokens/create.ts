import type { CreatedToken } from '@orgplane/control-plane';
import { OrgplaneCommand } from '../../baseCommand.js';
import { reasonFlag, scopeFlag, tokenNameFlag } from '../../flags.js';

/** The control plane's answer: the token itself (`op_<id>_<secret>`) is in it this once. */
export type TokensCreateResult = CreatedToken;

export default class TokensCreate extends OrgplaneCommand<TokensCreateResult> {
  static override summary = 'Create an API token; its secret is printed this once and never again.';
  static override description =
    'The control plane stores only a hash of the secret: copy it now into your secret store. `tokens list` shows the id, name and scope, never the secret.';
  static override examples = [
    '<%= config.bin %> tokens create --name ci-deploy --scope operator --reason "deploy pipeline"',
    '<%= config.bin %> tokens create --name payments-api --scope sdk:read --json',
  ];
  static override flags = {
    name: tokenNameFlag({ description: 'who or what uses it; audit rows name it as the actor', required: true }),
    scope: scopeFlag({ description: 'admin, operator, rollout or sdk:read', required: true }),
    reason: reasonFlag,
  };

  protected async execute(): Promise<TokensCreateResult> {
    const { flags } = await this.parse(TokensCreate);
    const body = { name: flags.name, scope: flags.scope, reason: flags.reason };
    return this.api().send<TokensCreateResult>('POST', '/v1/tokens', body);
  }

  protected render(r: TokensCreateResult): void {
    this.log(`created token ${r.id} '${r.name}' (scope ${r.scope})\n`);
    this.log(`  ${r.token}\n`);
    this.log('This is the only time the token is shown: store it now (for example as ORGPLANE_TOKEN in your secret store).');
  }
}
