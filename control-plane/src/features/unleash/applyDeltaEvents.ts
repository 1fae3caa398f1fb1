import type { UnleashDeltaEvent, UnleashFeature, UnleashSegment } from './unleashTypes.js';

/** The state that Unleash delta events leave behind, applied in order to an empty one (as an SDK does). */
export function applyDeltaEvents(events: readonly UnleashDeltaEvent[]): { features: UnleashFeature[]; segments: UnleashSegment[] } {
  let features = new Map<string, UnleashFeature>();
  let segments = new Map<number, UnleashSegment>();
  for (const event of events) {
    switch (event.type) {
      case 'hydration':
        features = new Map(event.features.map((f) => [f.name, f]));
        segments = new Map((event.segments ?? []).map((s) => [s.id, s]));
        break;
      case 'feature-updated':
        features.set(event.feature.name, event.feature);
        break;
      case 'feature-removed':
        features.delete(event.featureName);
        break;
      case 'segment-updated':
        segments.set(event.segment.id, event.segment);
        break;
      case 'segment-removed':
        segments.delete(event.segmentId);
        break;
    }
  }
  return { features: [...features.values()], segments: [...segments.values()] };
}
