// oclif.manifest.json: every command's id, flags, args and help text, read at start-up so
// that a run imports only the one command it runs (without it oclif imports all of them,
// and through `lab` fastify, node-pg-migrate, execa, listr2: ~0.9 s CPU per command).
//
// It is built from the compiled commands (cli/dist/commands) the way `oclif manifest`
// builds it, with the @oclif/core that reads it: `npm run build` (and the root `prepare`)
// writes it after `tsc -b`. It is a build output, not checked in. bin/run.js rebuilds it
// when a compiled command is newer, so a bare `tsc -b` cannot leave a stale one in charge;
// cli/test/startup.test.ts fails when it disagrees with the commands.
//
// `node cli/bin/manifest.js` writes it. This module imports only node:fs at load time:
// run.js imports it on every start to check freshness.
import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const cliRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

export const manifestFile = (root = cliRoot) => path.join(root, 'oclif.manifest.json');

/** The manifest of the commands compiled under `root`, ignoring any manifest on disk. */
export async function buildManifest(root = cliRoot) {
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true });
  await plugin.load();
  return plugin.manifest;
}

/** Writes the manifest atomically (concurrent runs may rebuild it at once); returns its path. */
export async function writeManifest(root = cliRoot) {
  const manifest = await buildManifest(root);
  const file = manifestFile(root);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

/** The newest mtime under dir, directories included: removing a command changes its directory's. */
function newestMtimeMs(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Whether the manifest must be rebuilt: in a source checkout (src/commands beside dist),
 * it is missing or a compiled command is newer. An installed package ships no src/ and is
 * never stale: npm does not keep a tarball's mtimes (files and directories get the time
 * they were extracted), and its folder may be read-only, so a rebuild there would cost
 * every run the full import of every command, then fail to write.
 * False when there are no compiled commands at all (nothing to build it from).
 */
export function manifestIsStale(root = cliRoot) {
  if (!existsSync(path.join(root, 'src', 'commands'))) return false;
  let commandsMtimeMs;
  try {
    commandsMtimeMs = newestMtimeMs(path.join(root, 'dist', 'commands'));
  } catch {
    return false;
  }
  try {
    return commandsMtimeMs > statSync(manifestFile(root)).mtimeMs;
  } catch {
    return true;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await writeManifest();
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}
