// @orgplane/control-plane/api and /api/rules are what the CLI imports: they must load
// nothing heavy. Walks their runtime imports (type-only ones are erased) through the
// sources and lists every package outside them that they reach.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function packagesReachedFrom(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)';/gms)) {
      const [, typeOnly, spec] = match;
      if (typeOnly || spec === undefined) continue;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(path.join(src, entry));
  return packages;
}

describe('the api subpaths', () => {
  it('api/rules reaches only the runtime wire contract (the CLI loads it at start-up)', () => {
    expect([...packagesReachedFrom('api/rules.ts')].sort()).toEqual(['@orgplane/runtime/wire']);
  });

  it('api reaches only typebox and the runtime wire contract: no fastify, no pg', () => {
    expect([...packagesReachedFrom('api/index.ts')].sort()).toEqual(['@orgplane/runtime/wire', 'typebox']);
  });
});
