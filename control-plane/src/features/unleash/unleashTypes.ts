// The Unleash client API's payload shapes, as far as this server reads them. Imported
// features are stored and served as received, so every type keeps unknown fields.

export interface UnleashConstraint {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
  [field: string]: unknown;
}

export interface UnleashStrategy {
  name: string;
  parameters?: Record<string, string | number | boolean>;
  constraints?: UnleashConstraint[];
  segments?: number[];
  variants?: unknown[];
  [field: string]: unknown;
}

export interface UnleashFeature {
  name: string;
  enabled: boolean;
  strategies: UnleashStrategy[];
  description?: string | null;
  type?: string;
  project?: string;
  stale?: boolean;
  impressionData?: boolean;
  variants?: unknown[];
  dependencies?: { feature: string; enabled?: boolean; variants?: string[] }[];
  [field: string]: unknown;
}

export interface UnleashSegment {
  id: number;
  name?: string;
  constraints: UnleashConstraint[];
  [field: string]: unknown;
}

/** GET /api/client/features. */
export interface UnleashFeaturesDocument {
  version: 2;
  features: UnleashFeature[];
  segments: UnleashSegment[];
  query?: { project?: string[]; namePrefix?: string };
}

/**
 * A delta-API event (GET /api/client/delta in Unleash). An import may carry a list of
 * them instead of `features`; they are applied in order to an empty state.
 */
export type UnleashDeltaEvent =
  | { type: 'hydration'; eventId?: number; features: UnleashFeature[]; segments?: UnleashSegment[] }
  | { type: 'feature-updated'; eventId?: number; feature: UnleashFeature }
  | { type: 'feature-removed'; eventId?: number; featureName: string; project?: string }
  | { type: 'segment-updated'; eventId?: number; segment: UnleashSegment }
  | { type: 'segment-removed'; eventId?: number; segmentId: number };

/** POST /api/admin/features-import: a raw client payload, or delta events. */
export interface UnleashImportBody {
  version?: number;
  features?: UnleashFeature[];
  segments?: UnleashSegment[];
  events?: UnleashDeltaEvent[];
  [field: string]: unknown;
}

/** POST /api/client/register, as unleash-client and the other official SDKs send it. */
export interface UnleashRegistration {
  appName: string;
  instanceId: string;
  sdkVersion?: string;
  strategies?: string[];
  started?: string;
  /** Milliseconds between metrics reports. */
  interval?: number;
  environment?: string;
  [field: string]: unknown;
}

export interface UnleashToggleCounts {
  yes?: number;
  no?: number;
  variants?: Record<string, number>;
}

/** POST /api/client/metrics. */
export interface UnleashMetricsReport {
  appName: string;
  instanceId: string;
  environment?: string;
  bucket: { start: string; stop: string; toggles: Record<string, UnleashToggleCounts> };
  [field: string]: unknown;
}
