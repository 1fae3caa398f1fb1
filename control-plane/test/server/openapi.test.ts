// The OpenAPI document is generated from the route schemas: the served one, the checked-in
// control-plane/openapi.json and API.md's reference part must all say the same, and every
// route must be in it with the schema of what it answers.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiDocument, type OpenApiDocument } from '../../src/http/apiDocument.js';
import { GENERATED_END, renderApiReference } from '../../src/http/apiMarkdown.js';
import { type Fixture, startFixture } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STALE = 'stale: run `npm run api:generate -w control-plane` and commit the result';

let f: Fixture;
let generated: OpenApiDocument;
const routes: { method: string; url: string }[] = [];
beforeAll(async () => {
  generated = await buildApiDocument((route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

/** `/v1/clusters/:id` -> `/v1/clusters/{id}`, as OpenAPI writes paths. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z]+)/g, '{$1}');

describe('GET /v1/openapi.json', () => {
  it('serves the checked-in control-plane/openapi.json', async () => {
    const res = await f.api.as(f.tokens['sdk:read']).get('/v1/openapi.json');
    expect(res.status).toBe(200);
    const checkedIn = JSON.parse(await readFile(`${root}openapi.json`, 'utf8'));
    expect(res.body, `control-plane/openapi.json is ${STALE}`).toEqual(checkedIn);
    expect(generated, `control-plane/openapi.json is ${STALE}`).toEqual(checkedIn);
  });

  it('needs a token like every other endpoint', async () => {
    const res = await f.api.as(undefined).get('/v1/openapi.json');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });
});

describe('the document', () => {
  it('has every registered route, with who may call it and what it answers on success', () => {
    expect(routes.length).toBeGreaterThan(40);
    for (const { method, url } of routes) {
      const op = generated.paths[openApiPath(url)]?.[method.toLowerCase()];
      expect(op, `${method} ${url} is not in the OpenAPI document`).toBeDefined();
      const success = Object.entries(op?.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      expect(success.length, `${method} ${url} declares no success response`).toBeGreaterThan(0);
      for (const [status, response] of success) {
        const described = response.content !== undefined || /no body/i.test(response.description ?? '');
        expect(described, `${method} ${url} ${status} has no schema`).toBe(true);
      }
      expect(op?.summary, `${method} ${url} has no summary`).toBeTruthy();
      expect(op?.tags?.length, `${method} ${url} has no tag`).toBe(1);
    }
  });

  it('lists every field of a JSON answer, so nothing outside the schema is ever echoed', () => {
    // Pass-through on purpose: this document itself, and the Unleash documents SDKs read.
    const open = new Set(['/v1/openapi.json', '/api/client/features', '/api/client/delta']);
    const loose: string[] = [];
    const walk = (schema: unknown, where: string): void => {
      if (typeof schema !== 'object' || schema === null) return;
      const s = schema as Record<string, unknown>;
      // `false`, or a schema every extra value must match (a map such as a batch's counts).
      const extra = s['additionalProperties'];
      if (s['properties'] !== undefined && extra !== false && typeof extra !== 'object') loose.push(where);
      for (const [key, value] of Object.entries(s)) {
        if (key === 'properties') for (const [name, child] of Object.entries(value as object)) walk(child, `${where}.${name}`);
        else if (Array.isArray(value)) {
          for (const [i, child] of value.entries()) walk(child, `${where}[${i}]`);
        } else if (typeof value === 'object') walk(value, where);
      }
    };
    for (const [path, methods] of Object.entries(generated.paths)) {
      if (open.has(path)) continue;
      for (const [method, op] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(op.responses)) {
          walk(response.content?.['application/json']?.schema, `${method.toUpperCase()} ${path} ${status}`);
        }
      }
    }
    expect(loose).toEqual([]);
  });
});

describe('API.md', () => {
  it('has the reference part written from the document', async () => {
    const markdown = await readFile(`${root}API.md`, 'utf8');
    const start = markdown.indexOf('<!-- generated:start');
    const end = markdown.indexOf(GENERATED_END) + GENERATED_END.length;
    expect(start, 'API.md has no generated part').toBeGreaterThanOrEqual(0);
    expect(markdown.slice(start, end), `API.md is ${STALE}`).toBe(renderApiReference(generated));
  });
});
