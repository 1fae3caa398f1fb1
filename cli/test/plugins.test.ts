// The oclif plugins people meet: "did you mean" for a mistyped command (never a prompt
// when no person is at a terminal) and shell autocompletion.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');

// stdin is not a terminal here: a prompt would wait for input until the timeout.
const cli = (args: string[]) => execa(process.execPath, [bin, ...args], { reject: false, stdin: 'ignore', timeout: 30_000 });

describe('a mistyped command', () => {
  it('exits 127 with COMMAND_NOT_FOUND and the command it probably meant, without prompting', async () => {
    const res = await cli(['shards', 'lst']);
    expect(res.timedOut).toBe(false);
    expect(res.exitCode).toBe(127);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('COMMAND_NOT_FOUND');
    expect(res.stderr).toContain('did you mean shards list?');
    expect(res.stderr).toContain('Try: orgplane shards list');
  });

  it('under --json is one JSON error document carrying the suggestion', async () => {
    const res = await cli(['rollouts', 'kil', 'new-invoices', '--json']);
    expect(res.exitCode).toBe(127);
    const doc = JSON.parse(res.stdout);
    expect(doc.error).toMatchObject({ code: 'COMMAND_NOT_FOUND', exitCode: 127, details: { suggestion: 'rollouts kill' } });
  });

  it('finds the command behind a mistyped topic', async () => {
    const res = await cli(['shrads', 'list', '--json']);
    expect(res.exitCode).toBe(127);
    expect(JSON.parse(res.stdout).error.details).toEqual({ suggestion: 'shards list' });
  });

  it('suggests nothing when nothing is close, and points at --help', async () => {
    const res = await cli(['xyzzy']);
    expect(res.exitCode).toBe(127);
    expect(res.stderr).not.toContain('did you mean');
    expect(res.stderr).toContain('orgplane --help lists every command');
  });

  it('`help <topic>` (there is no help command) points at --help', async () => {
    const res = await cli(['help', 'shards']);
    expect(res.exitCode).toBe(127);
    expect(res.stderr).toContain('Try: orgplane shards --help');
  });
});

describe('autocomplete', () => {
  it('`orgplane autocomplete --help` explains the setup for bash, zsh and powershell', async () => {
    const res = await cli(['autocomplete', '--help']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('orgplane autocomplete');
    expect(res.stdout).toMatch(/zsh\|bash\|powershell/);
  });

  it('is listed in `orgplane --help`', async () => {
    const res = await cli(['--help']);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/autocomplete\s+Display autocomplete installation instructions/);
  });
});
