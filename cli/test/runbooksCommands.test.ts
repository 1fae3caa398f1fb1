import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { expect, it } from 'vitest';

const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');

it('runbooks list and show read the shipped runbooks; an unknown one is RUNBOOK_NOT_FOUND', async () => {
  const list = await execa(process.execPath, [bin, 'runbooks', 'list', '--json']);
  const names = JSON.parse(list.stdout).runbooks.map((r: { name: string }) => r.name);
  expect(names).toContain('shard-map');
  const show = await execa(process.execPath, [bin, 'runbooks', 'show', 'shard-map', '--json']);
  expect(JSON.parse(show.stdout).markdown).toContain('orgplane shards split');
  const missing = await execa(process.execPath, [bin, 'runbooks', 'show', 'nope', '--json'], { reject: false });
  expect(missing.exitCode).toBe(4);
  expect(JSON.parse(missing.stdout).error.code).toBe('RUNBOOK_NOT_FOUND');
});
