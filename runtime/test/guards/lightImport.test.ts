// The core SDK stays light: importing @orgplane/runtime (or even its guards) loads no
// ioredis, express or fastify. The host passes its own Redis client to the guards.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The modules a fresh node process resolves while importing `specifier` (a resolve hook records them). */
function resolvedBy(specifier: string): string[] {
  const hooks = `export async function resolve(spec, ctx, next) { process.stderr.write('RESOLVE ' + spec + '\\n'); return next(spec, ctx); }`;
  const main = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
    await import(${JSON.stringify(specifier)});
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', main], { cwd: root, encoding: 'utf8' });
  expect(res.status, res.stderr).toBe(0);
  return res.stderr
    .split('\n')
    .filter((line) => line.startsWith('RESOLVE '))
    .map((line) => line.slice('RESOLVE '.length));
}

it.each(['@orgplane/runtime', '@orgplane/runtime/guards'])('importing %s loads no ioredis, express or fastify', (specifier) => {
  const seen = resolvedBy(specifier);
  expect(seen.length).toBeGreaterThan(1);
  expect(seen.filter((s) => /^(ioredis|express|fastify)(\/|$)/.test(s))).toEqual([]);
});

it('the core entry point does not load the guards', () => {
  expect(resolvedBy('@orgplane/runtime').filter((s) => s.includes('guards'))).toEqual([]);
});
