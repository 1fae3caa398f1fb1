// Schemas for the Unleash payloads. They check what this server reads and let
// everything else through: SDKs add fields from version to version, and an imported
// feature is served back exactly as it came.
const name = { type: 'string', minLength: 1, maxLength: 255 } as const;
const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const constraint = {
  type: 'object',
  required: ['contextName', 'operator'],
  properties: {
    contextName: { type: 'string', minLength: 1 },
    // Any string: Unleash answers false for an operator it does not know, and the
    // client specification tests exactly that.
    operator: { type: 'string', minLength: 1 },
    values: { type: 'array', items: { type: 'string' } },
    value: { type: 'string' },
    inverted: { type: 'boolean' },
    caseInsensitive: { type: 'boolean' },
  },
} as const;

const strategy = {
  type: 'object',
  required: ['name'],
  properties: {
    name,
    parameters: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } },
    constraints: { type: 'array', items: constraint },
    segments: { type: 'array', items: { type: 'integer' } },
    variants: { type: 'array', items: { type: 'object' } },
  },
} as const;

export const unleashFeatureSchema = {
  type: 'object',
  required: ['name', 'enabled', 'strategies'],
  properties: {
    name,
    enabled: { type: 'boolean' },
    strategies: { type: 'array', items: strategy },
    variants: { type: 'array', items: { type: 'object' } },
    dependencies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['feature'],
        properties: { feature: name, enabled: { type: 'boolean' }, variants: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
} as const;

export const unleashSegmentSchema = {
  type: 'object',
  required: ['id', 'constraints'],
  properties: { id: { type: 'integer' }, name: { type: 'string' }, constraints: { type: 'array', items: constraint } },
} as const;

const eventId = { type: 'integer' } as const;

/** One event type: `type` names it; the first field listed is the one it must carry. */
function deltaEventOf(type: string, properties: Record<string, object>) {
  const [carried] = Object.keys(properties);
  return { type: 'object', required: ['type', carried], properties: { type: { const: type }, eventId, ...properties } };
}

const deltaEvent = {
  anyOf: [
    deltaEventOf('hydration', {
      features: { type: 'array', items: unleashFeatureSchema },
      segments: { type: 'array', items: unleashSegmentSchema },
    }),
    deltaEventOf('feature-updated', { feature: unleashFeatureSchema }),
    deltaEventOf('feature-removed', { featureName: name }),
    deltaEventOf('segment-updated', { segment: unleashSegmentSchema }),
    deltaEventOf('segment-removed', { segmentId: { type: 'integer' } }),
  ],
} as const;

/** POST /api/admin/features-import: `{features, segments?}` (a client payload) or `{events}` (delta events). */
export const importBodySchema = {
  type: 'object',
  properties: {
    version: { type: 'integer' },
    features: { type: 'array', maxItems: 10_000, items: unleashFeatureSchema },
    segments: { type: 'array', maxItems: 10_000, items: unleashSegmentSchema },
    events: { type: 'array', maxItems: 100_000, items: deltaEvent },
    reason: { type: 'string', maxLength: 2000 },
  },
  oneOf: [
    { required: ['features'], not: { required: ['events'] } },
    { required: ['events'], not: { required: ['features'] } },
  ],
} as const;

export const registerBodySchema = {
  type: 'object',
  required: ['appName', 'instanceId'],
  properties: {
    appName: name,
    instanceId: name,
    sdkVersion: { type: 'string', maxLength: 255 },
    strategies: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 255 } },
    started: { type: 'string', maxLength: 64 },
    interval: { type: 'number', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    environment: { type: 'string', maxLength: 255 },
  },
} as const;

export const metricsBodySchema = {
  type: 'object',
  required: ['appName', 'instanceId', 'bucket'],
  properties: {
    appName: name,
    instanceId: name,
    environment: { type: 'string', maxLength: 255 },
    bucket: {
      type: 'object',
      required: ['start', 'stop', 'toggles'],
      properties: {
        start: { type: 'string', maxLength: 64 },
        stop: { type: 'string', maxLength: 64 },
        toggles: {
          type: 'object',
          maxProperties: 10_000,
          additionalProperties: {
            type: 'object',
            properties: { yes: count, no: count, variants: { type: 'object', additionalProperties: count } },
          },
        },
      },
    },
  },
} as const;

export const featuresQuerySchema = {
  type: 'object',
  properties: {
    namePrefix: { type: 'string', maxLength: 255 },
    project: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  },
} as const;

/** The client features document (or delta events), served as Unleash SDKs expect it. */
export const featuresDocumentSchema = {
  description: 'The Unleash client API document: {version, features, segments?, query?} or, from /delta, {events}.',
  type: 'object',
  additionalProperties: true,
  properties: {
    version: { type: 'integer' },
    features: { type: 'array', items: unleashFeatureSchema },
    segments: { type: 'array', items: unleashSegmentSchema },
    events: { type: 'array', items: deltaEvent },
  },
} as const;

export const acceptedSchema = { description: 'Accepted; no body.', type: 'null' } as const;

export const importResultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['revision', 'features', 'segments', 'importedAt'],
  properties: {
    revision: { type: 'integer', minimum: 0 },
    features: { type: 'integer', minimum: 0 },
    segments: { type: 'integer', minimum: 0 },
    importedAt: { type: 'string', format: 'date-time' },
  },
} as const;
