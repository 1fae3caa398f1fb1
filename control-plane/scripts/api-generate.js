#!/usr/bin/env node
// Writes control-plane/openapi.json and API.md's reference part from the route schemas
// (run after `tsc -b`: it reads dist/). With --check it writes nothing and exits 1 when
// either file is stale. Tests run the same check (control-plane/test/server/openapi.test.ts).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildApiDocument } from '../dist/http/apiDocument.js';
import { renderApiReference, replaceGenerated } from '../dist/http/apiMarkdown.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');

const doc = await buildApiDocument();
const files = {
  [`${root}openapi.json`]: `${JSON.stringify(doc, null, 2)}\n`,
  [`${root}API.md`]: replaceGenerated(await readFile(`${root}API.md`, 'utf8'), renderApiReference(doc)),
};
let stale = 0;
for (const [file, text] of Object.entries(files)) {
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current === text) continue;
  stale++;
  if (check) console.error(`${file} is stale: run npm run api:generate -w control-plane`);
  else await writeFile(file, text);
}
if (check && stale > 0) process.exit(1);
if (!check) console.log(stale === 0 ? 'openapi.json and API.md are up to date' : `wrote ${stale} file(s)`);
