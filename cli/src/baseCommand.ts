// The base of every orgplane command: `--json` prints exactly one JSON document (the
// result, or {"error": ...}); people get a rendering and named errors on stderr.
import { createInterface } from 'node:readline/promises';
import { Command } from '@oclif/core/command';
import { type ApiClient, createApiClient } from './apiClient.js';
import { resolveContext } from './context.js';
import { CliError, ExitCode, errorText, toCliError } from './errors.js';

export abstract class OrgplaneCommand<T> extends Command {
  static override enableJsonFlag = true;

  /** Compute the result; `run()` prints it. */
  protected abstract execute(): Promise<T>;

  /** How a person sees the result. */
  protected abstract render(result: T): void;

  override async run(): Promise<T> {
    const result = await this.execute();
    if (!this.jsonEnabled()) this.render(result);
    return result;
  }

  protected api(): ApiClient {
    return createApiClient(resolveContext());
  }

  /** Destructive commands ask unless --yes; without a terminal they refuse. */
  protected async confirm(question: string, yes: boolean): Promise<void> {
    if (yes) return;
    if (this.jsonEnabled() || !process.stdin.isTTY) {
      throw new CliError('CONFIRMATION_REQUIRED', `${question} needs confirmation`, 'pass --yes to confirm', ExitCode.usage);
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`${question} [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('ABORTED', 'aborted, nothing changed', undefined, ExitCode.failure);
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    const cliError = toCliError(err);
    process.exitCode = cliError.exitCode;
    if (this.jsonEnabled()) {
      this.logJson({ error: cliError.toJSON() });
    } else {
      process.stderr.write(errorText(cliError));
    }
    return undefined;
  }
}

// Commands that parse org ids in run() import it from here; new ones take orgIdArg / orgIdFlag (flags.ts).
export { parseOrgId } from './orgIds.js';
