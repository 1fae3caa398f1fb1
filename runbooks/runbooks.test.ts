// Every `orgplane ...` line in a runbook must name a real command with flags and
// arguments it accepts, so on-call never copies a command that fails to parse.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config, Flags, Parser } from '@oclif/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runbookCommands, splitArgs } from './commands.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cliRoot = path.join(here, '..', 'cli');

const runbooks = readdirSync(here).filter((f) => f.endsWith('.md'));

describe('runbooks', () => {
  let config: Config;
  const cwd = process.cwd();
  let scratch = '';
  beforeAll(async () => {
    config = await Config.load(cliRoot);
    // Flags that name a file (--exclude) read it while parsing: parse in a scratch folder
    // that holds a valid file under each name the runbooks use.
    scratch = mkdtempSync(path.join(tmpdir(), 'orgplane-runbooks-'));
    for (const f of runbooks) {
      for (const line of runbookCommands(readFileSync(path.join(here, f), 'utf8'))) {
        const words = splitArgs(line);
        const at = words.indexOf('--exclude');
        const file = at === -1 ? undefined : words[at + 1];
        if (file) writeFileSync(path.join(scratch, path.basename(file)), '1\n');
      }
    }
    process.chdir(scratch);
  });
  afterAll(() => {
    process.chdir(cwd);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('there are runbooks with commands in them', () => {
    const total = runbooks.flatMap((f) => runbookCommands(readFileSync(path.join(here, f), 'utf8')));
    expect(total.length).toBeGreaterThan(5);
  });

  for (const file of runbooks) {
    it(`${file}: every orgplane command parses`, async () => {
      const commands = runbookCommands(readFileSync(path.join(here, file), 'utf8'));
      for (const line of commands) {
        const words = splitArgs(line).slice(1);
        const idx = words.findIndex((w) => w.startsWith('-'));
        const positional = idx === -1 ? words : words.slice(0, idx);
        // The command id is the longest run of leading words that names a command.
        let id = '';
        for (let n = positional.length; n > 0 && !id; n--) {
          const candidate = positional.slice(0, n).join(':');
          if (config.findCommand(candidate)) id = candidate;
        }
        expect(id, `${file}: no command for "${line}"`).not.toBe('');
        const cmd = await config.findCommand(id)!.load();
        const argv = words.slice(id.split(':').length);
        // A command with variadic arguments (`orgs move 42 43`) declares itself not strict.
        await expect(
          Parser.parse(argv, {
            flags: { ...cmd.baseFlags, ...cmd.flags, json: Flags.boolean() },
            args: cmd.args ?? {},
            strict: cmd.strict ?? true,
          }),
          `${file}: "${line}" does not parse`,
        ).resolves.toBeDefined();
      }
    });
  }
});
