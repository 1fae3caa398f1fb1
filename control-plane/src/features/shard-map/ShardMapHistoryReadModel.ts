// Config versions with who made them and why: config_changes joined with audit_log.
import type { ConfigDelta } from '@orgplane/runtime/wire';
import type { Queryable } from '../../db/Database.js';

export interface HistoryEntry {
  version: number;
  action: string;
  actor: string | null;
  reason: string | null;
  createdAt: string;
  delta: ConfigDelta;
}

interface Row {
  version: string;
  action: string;
  actor: string | null;
  reason: string | null;
  created_at: Date;
  delta: ConfigDelta;
}

export class ShardMapHistoryReadModel {
  constructor(private readonly db: Queryable) {}

  /** Newest first; `beforeVersion` pages backwards. */
  async list(query: { limit: number; beforeVersion?: number | undefined }): Promise<HistoryEntry[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT c.version, c.action, a.actor, a.reason, c.created_at, c.delta
       FROM config_changes c
       LEFT JOIN LATERAL (SELECT actor, reason FROM audit_log WHERE version = c.version ORDER BY id LIMIT 1) a ON true
       WHERE ($1::bigint IS NULL OR c.version < $1)
       ORDER BY c.version DESC LIMIT $2`,
      [query.beforeVersion ?? null, query.limit],
    );
    return rows.map((row) => ({
      version: Number(row.version),
      action: row.action,
      actor: row.actor,
      reason: row.reason,
      createdAt: row.created_at.toISOString(),
      delta: { ...row.delta, version: Number(row.version) },
    }));
  }
}
