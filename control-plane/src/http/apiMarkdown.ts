// API.md's reference part, written from the OpenAPI document so it cannot drift from
// the route schemas. It replaces what lies between the two markers; the prose around
// them is written by hand.
import { Analysis, Move, MoveBatch, Rollout } from '../api/index.js';
import type { OpenApiDocument, OpenApiOperation } from './apiDocument.js';
import {
  ConfigDeltaSchema,
  WireClusterSchema,
  WireCohortSchema,
  WirePlacementSchema,
  WireRangeSchema,
  WireRolloutSchema,
} from './wireSchemas.js';

/** Documents the tables name, spelled out once below them. */
const DOCUMENTS = {
  Move,
  MoveBatch,
  Rollout,
  Analysis,
  WireCluster: WireClusterSchema,
  WireRange: WireRangeSchema,
  WirePlacement: WirePlacementSchema,
  WireRollout: WireRolloutSchema,
  WireCohort: WireCohortSchema,
  ConfigDelta: ConfigDeltaSchema,
};

export const GENERATED_START =
  '<!-- generated:start: `npm run api:generate -w control-plane` writes this part from the route schemas; do not edit -->';
export const GENERATED_END = '<!-- generated:end -->';

type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  description?: string;
  content?: unknown;
};

const TAG_TITLES: Record<string, string> = {
  health: 'Health and metrics',
  tokens: 'Tokens',
  clusters: 'Clusters',
  'shard-map': 'Shard map',
  placements: 'Placements',
  orgs: 'Orgs',
  audit: 'Audit',
  config: 'Config (runtime protocol)',
  rollouts: 'Rollouts',
  cohorts: 'Pilots and cohorts',
  moves: 'Org moves',
  replicas: 'Replica health',
  unleash: 'Unleash client API',
  openapi: 'This document',
};

/** A wire type's name when the schema says it is one (`WireCluster`, `ConfigDelta: ...`). */
function typeName(schema: Schema): string | null {
  const match = /^([A-Z][A-Za-z]+)(:|$)/.exec(schema.description ?? '');
  return match?.[1] ?? null;
}

/** A compact shape: `{version, clusters: [WireCluster]}`; nested parts fold to `{…}` past two levels. */
export function shapeOf(schema: Schema, depth = 0, maxDepth = 3): string {
  if (depth > 0) {
    const name = typeName(schema);
    if (name) return name;
  }
  if (schema.anyOf) {
    return schema.anyOf.map((s) => (s.type === 'null' ? 'null' : shapeOf(s, depth, maxDepth))).join(' \\| ');
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (schema.type === 'array' && schema.items) return `[${shapeOf(schema.items, depth + 1, maxDepth)}]`;
  if (schema.properties && Object.keys(schema.properties).length > 0) {
    if (depth >= maxDepth) return '{…}';
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties).map(([key, child]) => {
      const opt = required.has(key) ? '' : '?';
      // Spelled-out documents (a deep maxDepth) also list each enum's values.
      const values = maxDepth > 3 && child.enum ? `: ${child.enum.map((v) => JSON.stringify(v)).join(' \\| ')}` : '';
      const nested =
        child.properties || child.items || child.anyOf?.some((s) => s.properties) ? `: ${shapeOf(child, depth + 1, maxDepth)}` : values;
      return `${key}${opt}${nested}`;
    });
    return `{${fields.join(', ')}}`;
  }
  if (schema.type === 'null') return 'no body';
  return String(schema.type ?? 'any');
}

function requestOf(op: OpenApiOperation): string {
  const parts: string[] = [];
  const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
  if (query.length > 0) parts.push(`\`?${query.join('&')}\``);
  const body = op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
  if (body) parts.push(`\`${shapeOf(body)}\``);
  return parts.join(' ');
}

function answersOf(op: OpenApiOperation): string {
  return Object.entries(op.responses)
    .filter(([status]) => /^[23]/.test(status))
    .map(([status, response]) => {
      const [type, media] = Object.entries(response.content ?? {})[0] ?? [];
      if (!type || !media) return `${status}`;
      if (type !== 'application/json') return `${status} ${type}`;
      return `${status} \`${shapeOf(media.schema as Schema)}\``;
    })
    .join('; ');
}

const cell = (text: string) => text.replaceAll('\n', ' ');

export function renderApiReference(doc: OpenApiDocument): string {
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'other';
      const scopes = op['x-scopes'] ?? [];
      const who = scopes.length === 0 ? 'none' : scopes[0] === 'any' ? 'any valid token' : scopes.join(', ');
      const row = `| ${method.toUpperCase()} \`${path}\` | ${cell(op.summary ?? '')} | ${who} | ${requestOf(op)} | ${answersOf(op)} |`;
      byTag.set(tag, [...(byTag.get(tag) ?? []), row]);
    }
  }
  const order = Object.keys(TAG_TITLES);
  const rank = (tag: string) => (order.includes(tag) ? order.indexOf(tag) : order.length);
  const sections = [...byTag.entries()]
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(
      ([tag, rows]) =>
        `### ${TAG_TITLES[tag] ?? tag}\n\n| method and path | what | scopes | request | answer |\n| --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`,
    );
  const documents = Object.entries(DOCUMENTS).map(
    // Outside a table a `|` needs no escape.
    ([name, schema]) => `- \`${name}\`: \`${shapeOf(JSON.parse(JSON.stringify(schema)) as Schema, 0, 6).replaceAll(' \\| ', ' | ')}\``,
  );
  return [
    GENERATED_START,
    '',
    'Every route also answers errors as `{"error": {"code", "message", "hint"?, "errorId"?, "details"?}}` (see Errors).',
    '`?` marks an optional field; a wire type name (WireCluster, ConfigDelta, ...) is the type of runtime/src/wire.ts.',
    'The whole schemas are in control-plane/openapi.json, also served at `GET /v1/openapi.json`.',
    '',
    ...sections,
    '### Documents',
    '',
    ...documents,
    '',
    GENERATED_END,
  ].join('\n');
}

/** `markdown` with its generated part replaced by `reference`; an error when the markers are missing. */
export function replaceGenerated(markdown: string, reference: string): string {
  const start = markdown.indexOf('<!-- generated:start');
  const end = markdown.indexOf(GENERATED_END);
  if (start < 0 || end < start) throw new Error('API.md has no <!-- generated:start --> ... <!-- generated:end --> markers');
  return markdown.slice(0, start) + reference + markdown.slice(end + GENERATED_END.length);
}
