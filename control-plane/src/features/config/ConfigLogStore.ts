// Owns config_version (the one compare-and-set row) and config_changes (the delta of
// every version, which /v1/config/watch streams).
import type { ConfigDelta } from '@orgplane/runtime/wire';
import type { Queryable } from '../../db/Database.js';

export const CONFIG_CHANNEL = 'orgplane_config';

export interface StoredChange {
  delta: ConfigDelta;
  createdAt: string;
  /** Seconds between the writing transaction's start and this read, by the DB's clock. */
  lagSeconds: number;
}

interface ChangeRow {
  version: string;
  delta: ConfigDelta;
  created_at: Date;
  lag_seconds: number;
}

function toChange(row: ChangeRow): StoredChange {
  return { delta: { ...row.delta, version: Number(row.version) }, createdAt: row.created_at.toISOString(), lagSeconds: row.lag_seconds };
}

const CHANGE_COLUMNS = 'version, delta, created_at, extract(epoch FROM clock_timestamp() - created_at)::float8 AS lag_seconds';

export class ConfigLogStore {
  constructor(private readonly db: Queryable) {}

  /** The current version, locked until the transaction ends: this serializes every change. */
  async lockVersion(): Promise<number> {
    const { rows } = await this.db.query<{ version: string }>('SELECT version FROM config_version FOR UPDATE');
    return Number(rows[0]!.version);
  }

  async currentVersion(): Promise<number> {
    const { rows } = await this.db.query<{ version: string }>('SELECT version FROM config_version');
    return Number(rows[0]!.version);
  }

  /** Record version `delta.version` (current + 1) and tell every instance at commit. */
  async append(delta: ConfigDelta): Promise<void> {
    await this.db.query('UPDATE config_version SET version = $1', [delta.version]);
    await this.db.query('INSERT INTO config_changes (version, action, delta) VALUES ($1, $2, $3::jsonb)', [
      delta.version,
      delta.action,
      JSON.stringify(delta),
    ]);
    await this.db.query('SELECT pg_notify($1, $2)', [CONFIG_CHANNEL, String(delta.version)]);
  }

  /** How many changes after `version` were made by an action other than `ignored`. */
  async countChangesAfter(version: number, ignored: readonly string[]): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM config_changes WHERE version > $1 AND NOT (action = ANY($2::text[]))',
      [version, ignored],
    );
    return Number(rows[0]!.n);
  }

  /** Changes after `version`, oldest first. */
  async changesAfter(version: number, limit: number): Promise<StoredChange[]> {
    const { rows } = await this.db.query<ChangeRow>(
      `SELECT ${CHANGE_COLUMNS} FROM config_changes WHERE version > $1 ORDER BY version LIMIT $2`,
      [version, limit],
    );
    return rows.map(toChange);
  }

  /** The current version and the last `limit` changes up to it, read at one instant. */
  async recent(limit: number): Promise<{ version: number; changes: StoredChange[] }> {
    const { rows } = await this.db.query<ChangeRow & { current: string }>(
      `WITH cv AS (SELECT version AS current FROM config_version)
       SELECT cv.current, ${CHANGE_COLUMNS}
       FROM cv LEFT JOIN config_changes c ON c.version > cv.current - $1 AND c.version <= cv.current
       ORDER BY c.version`,
      [limit],
    );
    const version = Number(rows[0]?.current ?? 0);
    return { version, changes: rows.filter((row) => row.version !== null).map(toChange) };
  }
}
