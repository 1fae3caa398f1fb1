// The config snapshot serialized once per version: its JSON, its compact encoding
// (runtime/src/compactSnapshot.ts) and their gzip and brotli forms are made on the first
// request for a version and kept until a newer version is built. Whatever sections the
// snapshot holds, the cache keys them by `version` only: every change bumps it.
// Concurrent requests for a version that is not built yet share one load.
import { encodeCompact, pinsFromPlacements } from '@orgplane/runtime/compact';
import type { ConfigSnapshot } from '@orgplane/runtime/wire';
import { EncodedBody } from '../../http/contentCoding.js';

export interface SnapshotSource {
  currentVersion(): Promise<number>;
  load(): Promise<ConfigSnapshot>;
}

export type SnapshotFormat = 'json' | 'compact';

/** One version's bodies. The watch stream writes `json` as its `snapshot` event. */
export class CachedSnapshot {
  readonly etag: string;
  readonly json: EncodedBody;
  readonly compact: EncodedBody;
  private base64: Buffer | undefined;

  constructor(
    readonly version: number,
    snapshot: ConfigSnapshot,
  ) {
    this.etag = `"${version}"`;
    this.json = new EncodedBody(Buffer.from(JSON.stringify(snapshot)));
    // A copy: the encoder's buffer is sized for the worst case, about 4x what it used.
    this.compact = new EncodedBody(Buffer.from(encodeCompact(snapshot, pinsFromPlacements(snapshot.placements))));
  }

  /** The data of a watch stream's `compact-snapshot` event: base64 of the gzipped compact body. */
  compactEvent(): Buffer {
    if (this.base64 === undefined) throw new Error('compactEvent() before prepare()');
    return this.base64;
  }

  /** Makes what the watch stream sends synchronously (once per version). */
  async prepare(): Promise<this> {
    this.base64 ??= Buffer.from((await this.compact.get('gzip')).toString('base64'), 'latin1');
    return this;
  }

  body(format: SnapshotFormat): EncodedBody {
    return format === 'compact' ? this.compact : this.json;
  }
}

export class SnapshotCache {
  private latest: CachedSnapshot | null = null;
  private building: Promise<CachedSnapshot> | null = null;
  private builds = 0;

  constructor(private readonly source: SnapshotSource) {}

  /** Snapshots built so far (a request for a cached version builds nothing). */
  get buildCount(): number {
    return this.builds;
  }

  /** The version the newest cached bodies hold, or null. */
  get cachedVersion(): number | null {
    return this.latest?.version ?? null;
  }

  currentVersion(): Promise<number> {
    return this.source.currentVersion();
  }

  /** The bodies of the current version (one small read when they are cached). */
  async current(): Promise<CachedSnapshot> {
    return this.atLeast(await this.source.currentVersion());
  }

  /** Bodies of `version` or newer: a load that started before `version` committed does not count. */
  async atLeast(version: number): Promise<CachedSnapshot> {
    for (;;) {
      const latest = this.latest;
      if (latest !== null && latest.version >= version) return latest;
      this.building ??= this.build();
      const built = await this.building;
      if (built.version >= version) return built;
    }
  }

  private async build(): Promise<CachedSnapshot> {
    try {
      const snapshot = await this.source.load();
      const cached = await new CachedSnapshot(snapshot.version, snapshot).prepare();
      this.builds++;
      if (this.latest === null || cached.version > this.latest.version) this.latest = cached;
      return cached;
    } finally {
      this.building = null;
    }
  }
}
