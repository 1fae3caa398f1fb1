#!/usr/bin/env node
import { execute } from '@oclif/core/execute';
import { manifestIsStale, writeManifest } from './manifest.js';

// A manifest older than the compiled commands would hide their new flags and commands:
// rebuild it first (this happens in development only, after a bare `tsc -b`).
if (manifestIsStale()) {
  try {
    await writeManifest();
  } catch (err) {
    process.stderr.write(`orgplane: oclif.manifest.json is out of date and could not be rebuilt (${err.message}): run \`npm run build\`\n`);
  }
}

await execute({ dir: import.meta.url });
