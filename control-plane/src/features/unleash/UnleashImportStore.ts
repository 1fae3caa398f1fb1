// Owns unleash_import: the one imported Unleash payload, replaced wholesale.
import { type Queryable, sqlState } from '../../db/Database.js';
import { InvalidInputError } from '../../errors.js';
import type { UnleashFeature, UnleashSegment } from './unleashTypes.js';

export interface UnleashImport {
  /** 0 before the first import; + 1 on every import. */
  revision: number;
  features: UnleashFeature[];
  segments: UnleashSegment[];
  importedAt: string | null;
}

interface Row {
  revision: string;
  features: UnleashFeature[];
  segments: UnleashSegment[];
  imported_at: Date | null;
}

const toImport = (row: Row): UnleashImport => ({
  revision: Number(row.revision),
  features: row.features,
  segments: row.segments,
  importedAt: row.imported_at ? row.imported_at.toISOString() : null,
});

export class UnleashImportStore {
  constructor(private readonly db: Queryable) {}

  async revision(): Promise<number> {
    const { rows } = await this.db.query<{ revision: string }>('SELECT revision FROM unleash_import');
    return Number(rows[0]!.revision);
  }

  async get(): Promise<UnleashImport> {
    const { rows } = await this.db.query<Row>('SELECT revision, features, segments, imported_at FROM unleash_import');
    return toImport(rows[0]!);
  }

  /** Locked until the transaction ends, so concurrent imports take turns. */
  async lock(): Promise<UnleashImport> {
    const { rows } = await this.db.query<Row>('SELECT revision, features, segments, imported_at FROM unleash_import FOR UPDATE');
    return toImport(rows[0]!);
  }

  async replace(features: UnleashFeature[], segments: UnleashSegment[]): Promise<UnleashImport> {
    try {
      const { rows } = await this.db.query<Row>(
        `UPDATE unleash_import SET revision = revision + 1, features = $1::jsonb, segments = $2::jsonb, imported_at = now()
         RETURNING revision, features, segments, imported_at`,
        [JSON.stringify(features), JSON.stringify(segments)],
      );
      return toImport(rows[0]!);
    } catch (err) {
      // 22P05: a \u0000 in a string, which jsonb cannot hold.
      if (sqlState(err) === '22P05') throw new InvalidInputError('the payload holds a NUL character (\\u0000), which cannot be stored');
      throw err;
    }
  }
}
