// The Unleash client specification, through our server: every suite's state goes in
// through POST /api/admin/features-import, and the official unleash-client, fetching
// /api/client/features from us, must answer what the suite expects.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Unleash } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, type Json, startFixture } from '../helpers.js';
import { listen, startUnleash } from './client.js';

const specDir = dirname(createRequire(import.meta.url).resolve('@unleash/client-specification/specifications/index.json'));
const suiteNames: string[] = JSON.parse(readFileSync(join(specDir, 'index.json'), 'utf8'));

interface Suite {
  name: string;
  state: Json;
  tests?: { description: string; context: Json; toggleName: string; expectedResult: boolean }[];
  variantTests?: { description: string; context: Json; toggleName: string; expectedResult: Record<string, unknown> }[];
}

let f: Fixture;
let baseUrl: string;
beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_LOG_LEVEL: 'warn' } });
  baseUrl = await listen(f.cp);
});
afterAll(async () => {
  await f?.close();
});

it('lists every suite of the installed specification', () => {
  expect(suiteNames.length).toBeGreaterThanOrEqual(22);
});

// `full` polls /api/client/features; `delta` polls /api/client/delta (a hydration event).
describe.each(['full', 'delta'] as const)('the Unleash client specification, %s polling', (format) => {
  // No suite is skipped: 19 and 20 describe their state as delta-API events, which the
  // import applies in order (the features endpoint then serves the resulting state).
  it.each(suiteNames)('%s', async (file) => {
    const suite: Suite = JSON.parse(readFileSync(join(specDir, file), 'utf8'));
    const state = suite.state;
    const payload = state.events ? { events: state.events } : { features: state.features, segments: state.segments ?? [] };
    const imported = await f.api.post('/api/admin/features-import', payload);
    expect(imported.status, imported.text).toBe(200);

    const client: Unleash = await startUnleash(baseUrl, f.tokens['sdk:read'], {
      appName: `spec-${suite.name}`,
      experimentalMode: { type: 'polling', format },
    });
    try {
      const wrong: unknown[] = [];
      for (const test of suite.tests ?? []) {
        const actual = client.isEnabled(test.toggleName, test.context);
        if (actual !== test.expectedResult) wrong.push({ test: test.description, expected: test.expectedResult, actual });
      }
      for (const test of suite.variantTests ?? []) {
        const variant = client.getVariant(test.toggleName, test.context) as unknown as Record<string, unknown>;
        // The client adds fields (featureEnabled); compare the ones the suite names.
        const actual = Object.fromEntries(Object.keys(test.expectedResult).map((key) => [key, variant[key]]));
        if (JSON.stringify(sortKeys(actual)) !== JSON.stringify(sortKeys(test.expectedResult))) {
          wrong.push({ test: test.description, expected: test.expectedResult, actual });
        }
      }
      expect(wrong).toEqual([]);
      expect((suite.tests?.length ?? 0) + (suite.variantTests?.length ?? 0)).toBeGreaterThan(0);
    } finally {
      client.destroy();
    }
  });
});

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
