// cli/schemas/ is generated from cli/src/results/registry.ts: it must be current, and
// every command must have a schema (jsonSchemas.test.ts checks real output against them).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ownCommandIds, RESULT_SCHEMAS, schemaFiles } from '../src/results/registry.js';

const cliRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaDir = path.join(cliRoot, 'schemas');
const STALE = 'is stale: run `npm run schemas:generate -w cli` and commit cli/schemas/';

describe('cli/schemas', () => {
  it('holds exactly the generated schemas, one per command plus error.json', async () => {
    const config = await Config.load(cliRoot);
    const files = schemaFiles(ownCommandIds(config));
    const present = readdirSync(schemaDir).filter((f) => f.endsWith('.json'));
    expect(present.sort(), `cli/schemas/ ${STALE}`).toEqual([...files.keys()].sort());
    for (const [file, text] of files) expect(readFileSync(path.join(schemaDir, file), 'utf8'), `cli/schemas/${file} ${STALE}`).toBe(text);
  });

  it('names the command that has no schema', () => {
    expect(() => schemaFiles([...Object.keys(RESULT_SCHEMAS), 'widgets:frob'])).toThrow(/no --json schema for widgets:frob/);
    expect(() => schemaFiles(Object.keys(RESULT_SCHEMAS).filter((id) => id !== 'lab:up'))).toThrow(/does not have: lab:up/);
  });

  it('every schema compiles in strict mode', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    ajvFormats.default(ajv);
    for (const f of readdirSync(schemaDir).filter((name) => name.endsWith('.json'))) {
      expect(() => ajv.compile(JSON.parse(readFileSync(path.join(schemaDir, f), 'utf8'))), f).not.toThrow();
    }
  });
});
