// Where the control plane is and which token to use. The only module of the CLI that
// reads the environment: ORGPLANE_URL / ORGPLANE_TOKEN win over the lab's saved context,
// which is the context of the lab in ORGPLANE_LAB_DIR when that is set, else the nearest
// `.orgplane/context.json` at or above the current directory.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CliError, ExitCode } from './errors.js';
import { labPaths } from './lab/state.js';

export interface CliContext {
  url: string;
  token: string;
  source: 'env' | 'lab';
}

export const LAB_DIR_NAME = path.join('.orgplane', 'lab');

/** The nearest `.orgplane/` at or above dir, or null. */
export function findStateDir(dir = process.cwd()): string | null {
  let current = path.resolve(dir);
  for (;;) {
    const candidate = path.join(current, '.orgplane');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

/** The lab directory: ORGPLANE_LAB_DIR, else ./.orgplane/lab in the current directory. */
export function labDir(flag?: string): string {
  return path.resolve(flag ?? process.env.ORGPLANE_LAB_DIR ?? LAB_DIR_NAME);
}

/** The lab's saved context: the one of ORGPLANE_LAB_DIR when set, else the nearest found walking up. */
function labContextFile(): string | null {
  if (process.env.ORGPLANE_LAB_DIR) return labPaths(labDir()).context;
  const stateDir = findStateDir();
  return stateDir ? path.join(stateDir, 'context.json') : null;
}

export function resolveContext(): CliContext {
  const envUrl = process.env.ORGPLANE_URL;
  const envToken = process.env.ORGPLANE_TOKEN;
  if (envUrl || envToken) {
    if (!envUrl || !envToken) {
      throw new CliError(
        'INCOMPLETE_CONTEXT',
        'ORGPLANE_URL and ORGPLANE_TOKEN must be set together',
        'set both, or unset both to use the lab',
        ExitCode.usage,
      );
    }
    return { url: envUrl.replace(/\/+$/, ''), token: envToken, source: 'env' };
  }
  const file = labContextFile();
  if (!file || !existsSync(file)) {
    throw new CliError(
      'NO_CONTEXT',
      file
        ? `no control plane to talk to: ORGPLANE_URL is not set and there is no lab context ${file}`
        : 'no control plane to talk to: ORGPLANE_URL is not set and no lab context was found',
      process.env.ORGPLANE_LAB_DIR
        ? 'start that lab with `orgplane lab up`, unset ORGPLANE_LAB_DIR, or set ORGPLANE_URL and ORGPLANE_TOKEN'
        : 'start the lab with `orgplane lab up`, or set ORGPLANE_URL and ORGPLANE_TOKEN',
      ExitCode.usage,
    );
  }
  let parsed: { url?: unknown; token?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new CliError('BAD_CONTEXT', `${file} is not valid JSON`, 'run `orgplane lab up` again to rewrite it', ExitCode.failure);
  }
  if (typeof parsed.url !== 'string' || typeof parsed.token !== 'string') {
    throw new CliError('BAD_CONTEXT', `${file} lacks url or token`, 'run `orgplane lab up` again to rewrite it', ExitCode.failure);
  }
  return { url: parsed.url, token: parsed.token, source: 'lab' };
}
