// The on-call runbooks shipped beside the CLI (runbooks/*.md at the repository root).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, ExitCode } from './errors.js';

export const RUNBOOKS_DIR = fileURLToPath(new URL('../../runbooks', import.meta.url));

export interface RunbookSummary {
  name: string;
  title: string;
  path: string;
}

export function listRunbooks(dir = RUNBOOKS_DIR): RunbookSummary[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const title = /^#\s+(.*)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? f;
      return { name: f.replace(/\.md$/, ''), title, path: file };
    });
}

export function readRunbook(name: string, dir = RUNBOOKS_DIR): RunbookSummary & { markdown: string } {
  const found = listRunbooks(dir).find((r) => r.name === name);
  if (!found) {
    throw new CliError('RUNBOOK_NOT_FOUND', `no runbook named '${name}'`, 'see `orgplane runbooks list`', ExitCode.notFound);
  }
  return { ...found, markdown: readFileSync(found.path, 'utf8') };
}
