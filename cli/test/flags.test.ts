// Input refused while oclif parses the command line (cli/src/flags.ts): the named error
// and exit code 2, the message without oclif's "Parsing --flag" framing, and nothing sent
// (the control plane here is a closed port: reaching it would be CONTROL_PLANE_UNREACHABLE).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
let dir: string;

async function cli(args: string[]) {
  const res = await execa(process.execPath, [bin, ...args, '--json'], {
    reject: false,
    stdin: 'ignore',
    env: { ORGPLANE_URL: 'http://127.0.0.1:9', ORGPLANE_TOKEN: 'x', ORGPLANE_LAB_DIR: undefined },
  });
  return { exitCode: res.exitCode, error: JSON.parse(res.stdout).error };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'orgplane-flags-'));
  await writeFile(path.join(dir, 'exclude.txt'), '1\nacme\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('bad values are named usage errors before anything is sent', () => {
  const cases: [string[], string, RegExp][] = [
    [['shards', 'split', '--at', '2.5'], 'INVALID_ORG_ID', /^'2\.5' is not an org id$/],
    [['shards', 'assign', '--range', '10-5', '--to', 'primary-1', '--yes'], 'INVALID_RANGE', /ends before it starts/],
    [['shards', 'assign', '--range', 'ten', '--to', 'primary-1', '--yes'], 'INVALID_RANGE', /'ten' is not a range/],
    [['orgs', 'locate', 'abc'], 'INVALID_ORG_ID', /'abc' is not an org id/],
    [['orgs', 'move', '42', 'abc', '--to', 'primary-2'], 'INVALID_ORG_ID', /'abc' is not an org id/],
    [['orgs', 'move', '--from', 'p1', '--to', 'p2', '--percent', '101'], 'INVALID_INPUT', /--percent must be a whole number/],
    [['orgs', 'move', '--from', 'p1', '--to', 'p2', '--percent', '10', '--range', '9-3'], 'INVALID_RANGE', /ends before/],
    [['orgs', 'move', '42', '--to', 'p2', '--bogus'], 'INVALID_ARGUMENTS', /Nonexistent flag: --bogus/],
    [['moves', 'list', '--org', 'x'], 'INVALID_ORG_ID', /'x' is not an org id/],
    [['rollouts', 'set', 'f', '101'], 'INVALID_PERCENT', /'101' is not a percentage/],
    [['rollouts', 'create', 'f', '--stages', '10,5'], 'INVALID_STAGES', /must increase strictly/],
    [['rollouts', 'create', 'f', '--stages', '0,10', '--check', 'no comparison'], 'INVALID_CHECK', /has no valid name/],
    [['rollouts', 'create', 'f', '--stages', '0,10', '--min-dwell', '5y'], 'INVALID_DURATION', /^--min-dwell: '5y' is not a duration$/],
    [['rollouts', 'create', 'f', '--stages', '0,10', '--interval', 'soon'], 'INVALID_DURATION', /^--interval: 'soon'/],
    [['pilot', 'select', '--count', '5', '--seed', '1', '--exclude', 'EXCLUDE'], 'INVALID_EXCLUDE_FILE', /exclude\.txt:2: 'acme'/],
    [['pilot', 'select', '--count', '5', '--seed', '1', '--exclude', '/nonexistent/x'], 'EXCLUDE_FILE_UNREADABLE', /ENOENT/],
  ];
  it.each(cases)('%j', async (args, code, message) => {
    const res = await cli(args.map((a) => (a === 'EXCLUDE' ? path.join(dir, 'exclude.txt') : a)));
    expect(res.error.code).toBe(code);
    expect(res.exitCode).toBe(2);
    expect(res.error.message).toMatch(message);
    expect(res.error.message).not.toMatch(/Parsing --|See more help/);
  });
});

describe('good values pass the parse and reach the control plane', () => {
  it.each([
    [['rollouts', 'kill', 'f', '--yes', '--reason', 'r']],
    [['moves', 'abort', 'mv_1', '--yes', '--follow']],
    [['orgs', 'move', '42', '43', '--to', 'p2']],
    [['rollouts', 'create', 'f', '--stages', 'pilot,10', '--pilot-cohort', 'c', '--check', 'e:q<1', '--min-dwell', '2h']],
  ])('%j', async (args) => {
    const res = await cli(args);
    expect(res.error.code).toBe('CONTROL_PLANE_UNREACHABLE');
    expect(res.exitCode).toBe(6);
  });
});
