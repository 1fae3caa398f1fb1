#!/usr/bin/env node
// Writes cli/schemas/ (one JSON Schema per command's --json document, and error.json)
// from cli/src/results/registry.ts; run after `tsc -b` (it reads dist/). With --check it
// writes nothing and exits 1 when a file is stale. cli/test/resultSchemas.test.ts checks the same.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { ownCommandIds, schemaFiles } from '../dist/results/registry.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}schemas/`;
const check = process.argv.includes('--check');

const config = await Config.load(root);
const files = schemaFiles(ownCommandIds(config));
const present = (await readdir(dir)).filter((f) => f.endsWith('.json'));
let stale = 0;
for (const [file, text] of files) {
  if ((await readFile(`${dir}${file}`, 'utf8').catch(() => '')) === text) continue;
  stale++;
  if (check) console.error(`cli/schemas/${file} is stale`);
  else await writeFile(`${dir}${file}`, text);
}
for (const file of present.filter((f) => !files.has(f))) {
  stale++;
  if (check) console.error(`cli/schemas/${file} belongs to no command`);
  else await rm(`${dir}${file}`);
}
if (check && stale > 0) {
  console.error('run npm run schemas:generate -w cli');
  process.exit(1);
}
if (!check) console.log(stale === 0 ? 'cli/schemas/ is up to date' : `wrote or removed ${stale} file(s) in cli/schemas/`);
