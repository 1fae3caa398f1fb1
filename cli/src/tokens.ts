// Input rules of the tokens commands, one function each so a custom flag can wrap them.
import { SCOPES, type Scope, TOKEN_NAME_MAX_LENGTH } from '@orgplane/control-plane/api/rules';
import { CliError, ExitCode } from './errors.js';

/** A token's scope: one of the control plane's SCOPES. */
export function parseScope(raw: string): Scope {
  const scope = SCOPES.find((s) => s === raw.trim());
  if (!scope) {
    throw new CliError('INVALID_SCOPE', `'${raw}' is not a token scope`, `use one of ${SCOPES.join(', ')}`, ExitCode.usage);
  }
  return scope;
}

/** A token's name: what audit rows show as the actor, so it must say something. */
export function parseTokenName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > TOKEN_NAME_MAX_LENGTH) {
    throw new CliError(
      'INVALID_TOKEN_NAME',
      name.length === 0 ? 'a token needs a name' : `a token name is at most ${TOKEN_NAME_MAX_LENGTH} characters`,
      'name it after who or what uses it, for example --name ci-deploy',
      ExitCode.usage,
    );
  }
  return name;
}

/** A token id as `tokens list` shows it (the id part of op_<id>_<secret>, never the secret). */
export function parseTokenId(raw: string): string {
  const id = raw.trim();
  if (!/^[0-9a-f]{16}$/.test(id)) {
    throw new CliError(
      'INVALID_TOKEN_ID',
      `'${id.startsWith('op_') ? 'op_…' : id}' is not a token id`,
      'a token id is 16 hex digits, as `orgplane tokens list` shows it (not the whole op_… token)',
      ExitCode.usage,
    );
  }
  return id;
}
