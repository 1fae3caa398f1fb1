// The Unleash client API: rollouts (as features) followed by the imported features,
// under an ETag made of the config version and the import revision; and what SDKs
// report about themselves. The features document is built once per (version, revision)
// and kept, so an SDK's poll costs two small reads.
import type { ConfigSnapshot } from '@orgplane/runtime/wire';
import type { Database } from '../../db/Database.js';
import { InvalidInputError } from '../../errors.js';
import { EncodedBody } from '../../http/contentCoding.js';
import { etagMatches } from '../../http/etag.js';
import type { Stores } from '../../stores.js';
import type { Actor } from '../auth/Actor.js';
import { applyDeltaEvents } from './applyDeltaEvents.js';
import { rolloutsToUnleashFeatures } from './rolloutFeatures.js';
import type {
  UnleashFeature,
  UnleashFeaturesDocument,
  UnleashImportBody,
  UnleashMetricsReport,
  UnleashRegistration,
  UnleashSegment,
} from './unleashTypes.js';

/** The rollouts and pilot cohorts at one config version. */
export type RolloutState = Pick<ConfigSnapshot, 'version' | 'rollouts' | 'cohorts'>;

export interface FeaturesQuery {
  namePrefix?: string | undefined;
  /** Features of these projects only (rollouts are in project `default`). */
  projects?: string[] | undefined;
}

/**
 * `full`: GET /api/client/features. `delta`: GET /api/client/delta, answered with one
 * `hydration` event holding the whole state (an SDK replaces everything it has with it),
 * so SDKs configured for delta polling work too.
 */
export type FeaturesFormat = 'full' | 'delta';

/** `body` is compressed on demand (once per revision for the unfiltered document). */
export type FeaturesAnswer = { etag: string; notModified: true } | { etag: string; notModified: false; body: EncodedBody };

export interface ImportResult {
  revision: number;
  features: number;
  segments: number;
  importedAt: string;
}

interface Built {
  version: number;
  revision: number;
  document: UnleashFeaturesDocument;
  /** The unfiltered document, serialized once per format (and compressed once per coding). */
  json: Record<FeaturesFormat, EncodedBody>;
}

/** Each change bumps the version or the revision, so their sum orders the states. */
const eventIdOf = (version: number, revision: number): number => version + revision;

function deltaBody(document: UnleashFeaturesDocument, eventId: number): string {
  return JSON.stringify({ events: [{ eventId, type: 'hydration', features: document.features, segments: document.segments }] });
}

export function unleashEtag(version: number, revision: number): string {
  return `"${version}-${revision}"`;
}

const YEAR_0 = Date.parse('0000-01-01T00:00:00Z');
const YEAR_10000 = Date.parse('+010000-01-01T00:00:00Z');

function parseTime(value: string, field: string): string {
  const time = Date.parse(value);
  // Years outside 0..9999 come back as '+275760-...', which Postgres does not read.
  if (Number.isNaN(time) || time < YEAR_0 || time >= YEAR_10000) {
    throw new InvalidInputError(`${field} is not a date-time: '${value.slice(0, 64)}'`, {
      details: [{ field, message: 'must be an ISO 8601 date-time' }],
    });
  }
  return new Date(time).toISOString();
}

function refuseDuplicates<T>(items: readonly T[], key: (item: T) => string | number, what: string, field: string): void {
  const seen = new Set<string | number>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) {
      throw new InvalidInputError(`${what} ${JSON.stringify(k)} appears twice`, {
        hint: `send each ${what} once`,
        details: [{ field: `${field}[${index}]`, message: `duplicate ${what}` }],
      });
    }
    seen.add(k);
  });
}

export class UnleashService {
  private built: Built | null = null;
  private building: Promise<Built> | null = null;

  constructor(
    private readonly db: Database<Stores>,
    private readonly loadRollouts: () => Promise<RolloutState>,
  ) {}

  async features(query: FeaturesQuery, ifNoneMatch: string | undefined, format: FeaturesFormat = 'full'): Promise<FeaturesAnswer> {
    const [version, revision] = await Promise.all([this.db.stores.configLog.currentVersion(), this.db.stores.unleashImport.revision()]);
    const current = unleashEtag(version, revision);
    if (ifNoneMatch && etagMatches(ifNoneMatch, current)) return { etag: current, notModified: true };
    const built = await this.document(version, revision);
    const etag = unleashEtag(built.version, built.revision);
    if (query.namePrefix === undefined && query.projects === undefined) return { etag, notModified: false, body: built.json[format] };
    const features = built.document.features.filter(
      (f) =>
        (query.namePrefix === undefined || f.name.startsWith(query.namePrefix)) &&
        (query.projects === undefined || query.projects.includes(f.project ?? 'default')),
    );
    const document: UnleashFeaturesDocument = {
      ...built.document,
      features,
      query: {
        ...(query.projects === undefined ? {} : { project: query.projects }),
        ...(query.namePrefix === undefined ? {} : { namePrefix: query.namePrefix }),
      },
    };
    const body = format === 'full' ? JSON.stringify(document) : deltaBody(document, eventIdOf(built.version, built.revision));
    return { etag, notModified: false, body: new EncodedBody(Buffer.from(body)) };
  }

  /** Replace what was imported before; audited as `unleash.import`. */
  async importFeatures(actor: Actor, body: UnleashImportBody): Promise<ImportResult> {
    const { features, segments } = body.events
      ? applyDeltaEvents(body.events)
      : { features: body.features ?? [], segments: body.segments ?? [] };
    refuseDuplicates(features, (f) => f.name, 'feature name', body.events ? 'events' : 'features');
    refuseDuplicates(segments, (s) => s.id, 'segment id', body.events ? 'events' : 'segments');
    const reason = typeof body['reason'] === 'string' ? body['reason'] : null;
    return this.db.transaction(async (stores) => {
      const before = await stores.unleashImport.lock();
      const after = await stores.unleashImport.replace(features, segments);
      const summary = (i: typeof before) => ({
        revision: i.revision,
        features: i.features.map((f) => f.name),
        segments: i.segments.map((s) => s.id),
      });
      await stores.audit.insert({ actor, action: 'unleash.import', reason, before: summary(before), after: summary(after), version: null });
      return { revision: after.revision, features: after.features.length, segments: after.segments.length, importedAt: after.importedAt! };
    });
  }

  async register(actor: Actor, registration: UnleashRegistration): Promise<void> {
    await this.db.stores.unleashClients.registerInstance({
      appName: registration.appName,
      instanceId: registration.instanceId,
      sdkVersion: registration.sdkVersion ?? null,
      strategies: registration.strategies ?? [],
      started: registration.started === undefined ? null : parseTime(registration.started, 'started'),
      intervalMs: registration.interval === undefined ? null : Math.round(registration.interval),
      environment: registration.environment ?? null,
      tokenId: actor.tokenId,
    });
  }

  async recordMetrics(actor: Actor, report: UnleashMetricsReport): Promise<void> {
    const start = parseTime(report.bucket.start, 'bucket.start');
    parseTime(report.bucket.stop, 'bucket.stop');
    await this.db.stores.unleashClients.recordMetrics({
      appName: report.appName,
      instanceId: report.instanceId,
      environment: report.environment ?? null,
      tokenId: actor.tokenId,
      start,
      toggles: report.bucket.toggles,
    });
  }

  /** The document at (version, revision) or later; concurrent polls share one build. */
  private async document(version: number, revision: number): Promise<Built> {
    const built = this.built;
    if (built && built.version >= version && built.revision >= revision) return built;
    if (!this.building) {
      this.building = this.build().finally(() => {
        this.building = null;
      });
    }
    const fresh = await this.building;
    // A build that started before this poll's reads may be older than them: build again.
    return fresh.version >= version && fresh.revision >= revision ? fresh : this.document(version, revision);
  }

  private async build(): Promise<Built> {
    const [state, imported] = await Promise.all([this.loadRollouts(), this.db.stores.unleashImport.get()]);
    const rolloutFeatures = rolloutsToUnleashFeatures(state.rollouts, state.cohorts);
    // Rollouts win a name clash: an SDK keeps the last feature of a name, so the
    // shadowed import must not be sent at all.
    const taken = new Set(rolloutFeatures.map((f) => f.name));
    const features: UnleashFeature[] = [...rolloutFeatures, ...imported.features.filter((f) => !taken.has(f.name))];
    const segments: UnleashSegment[] = imported.segments;
    const document: UnleashFeaturesDocument = { version: 2, features, segments };
    const json = {
      full: new EncodedBody(Buffer.from(JSON.stringify(document))),
      delta: new EncodedBody(Buffer.from(deltaBody(document, eventIdOf(state.version, imported.revision)))),
    };
    const built: Built = { version: state.version, revision: imported.revision, document, json };
    if (!this.built || (built.version >= this.built.version && built.revision >= this.built.revision)) this.built = built;
    return built;
  }
}
