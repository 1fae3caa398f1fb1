#!/usr/bin/env node
import module from 'node:module';

// Node 22.1+ keeps the compiled code of @oclif/core and the commands between runs (on
// Node 20 there is no such cache and this does nothing). Everything after it is imported
// dynamically so that it is compiled with the cache on.
module.enableCompileCache?.();

const { manifestIsStale, writeManifest } = await import('./manifest.js');
// A manifest older than the compiled commands would hide their new flags and commands:
// rebuild it first (this happens in development only, after a bare `tsc -b`).
if (manifestIsStale()) {
  try {
    await writeManifest();
  } catch (err) {
    process.stderr.write(`orgplane: oclif.manifest.json is out of date and could not be rebuilt (${err.message}): run \`npm run build\`\n`);
  }
}

const { execute } = await import('@oclif/core/execute');
await execute({ dir: import.meta.url });
