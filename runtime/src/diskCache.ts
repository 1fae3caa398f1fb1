// The last good config on disk, so that a service can start while the control plane is
// unreachable. The file is the whole current config (not the last delta) in the compact
// encoding (compactSnapshot.ts; a file an older runtime wrote as a JSON ConfigSnapshot is
// read too), written to a temporary file, fsynced, then renamed over the old one: a
// reader sees the old file or the new one, never half of one.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type CompactConfig, decodeCompact, encodeCompact, isCompact, placementsOf } from './compactSnapshot.js';
import { RuntimeError } from './errors.js';
import type { PinsExport } from './router.js';
import type { ConfigSnapshot } from './wire.js';

export const CACHE_FILE_NAME = 'orgplane-config.json';
export const DEFAULT_CACHE_DEBOUNCE_MS = 250;

/** What gets written: the snapshot without its placements, plus a copy of the pin table. */
export interface CacheImage {
  snapshot: Omit<ConfigSnapshot, 'placements'>;
  pins: PinsExport;
}

export interface DiskCacheOptions {
  dir: string;
  debounceMs?: number;
  onError(error: RuntimeError): void;
}

export class DiskCache {
  readonly path: string;
  private readonly debounceMs: number;
  private capture: (() => CacheImage) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly options: DiskCacheOptions) {
    this.path = join(options.dir, CACHE_FILE_NAME);
    this.debounceMs = options.debounceMs ?? DEFAULT_CACHE_DEBOUNCE_MS;
  }

  /** The cached snapshot with one object per pin (tools, tests); see loadConfig. */
  async load(): Promise<ConfigSnapshot | null> {
    const loaded = await this.loadConfig();
    if (loaded === null || loaded.pins === undefined) return loaded?.snapshot ?? null;
    return { ...loaded.snapshot, placements: [...loaded.snapshot.placements, ...placementsOf(loaded.pins)] };
  }

  /**
   * The cached config: a compact file's pins stay columns (what the runtime installs, with
   * bounded memory). Null when there is no file; throws CACHE_CORRUPT (its cause a
   * CorruptSnapshotError for a damaged compact file) when it is unusable.
   */
  async loadConfig(): Promise<{ snapshot: ConfigSnapshot; pins?: CompactConfig['pins'] } | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new RuntimeError('CACHE_CORRUPT', `config cache ${this.path} cannot be read: ${(cause as Error).message}`, { cause });
    }
    if (isCompact(bytes)) {
      try {
        return decodeCompact(bytes);
      } catch (cause) {
        throw new RuntimeError('CACHE_CORRUPT', `config cache ${this.path} is unusable; ignoring it: ${(cause as Error).message}`, {
          cause,
        });
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (cause) {
      throw new RuntimeError('CACHE_CORRUPT', `config cache ${this.path} is not valid JSON; ignoring it`, { cause });
    }
    if (!looksLikeSnapshot(parsed)) {
      throw new RuntimeError('CACHE_CORRUPT', `config cache ${this.path} is not a config snapshot; ignoring it`);
    }
    return { snapshot: parsed };
  }

  /**
   * Writes the config `debounceMs` after the last call. `capture` runs synchronously when the
   * write starts, so the file is one consistent version even while changes keep coming.
   */
  schedule(capture: () => CacheImage): void {
    this.capture = capture;
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeNow();
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Writes any pending change now and waits for every write to finish. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.writeNow();
  }

  private async writeNow(): Promise<void> {
    // One write at a time; a change made during a write is picked up by the next one.
    while (this.writing) await this.writing;
    const capture = this.capture;
    if (!capture) return;
    this.capture = undefined;
    this.writing = this.write(capture()).finally(() => {
      this.writing = undefined;
    });
    await this.writing;
  }

  private async write(image: CacheImage): Promise<void> {
    const tmp = join(this.options.dir, `.${CACHE_FILE_NAME}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await mkdir(this.options.dir, { recursive: true });
      const file = await open(tmp, 'w', 0o600);
      try {
        await file.write(encodeCompact(image.snapshot, image.pins));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
    } catch (cause) {
      await unlink(tmp).catch(() => {});
      this.options.onError(
        new RuntimeError('CACHE_WRITE_FAILED', `config cache ${this.path} could not be written: ${(cause as Error).message}`, { cause }),
      );
    }
  }
}

function looksLikeSnapshot(value: unknown): value is ConfigSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s['version'] === 'number' &&
    Number.isSafeInteger(s['version']) &&
    s['version'] >= 0 &&
    Array.isArray(s['clusters']) &&
    Array.isArray(s['ranges']) &&
    Array.isArray(s['placements']) &&
    Array.isArray(s['replicas']) &&
    Array.isArray(s['rollouts']) &&
    Array.isArray(s['cohorts'])
  );
}
