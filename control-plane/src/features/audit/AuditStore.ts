import type { Queryable } from '../../db/Database.js';
import type { Actor } from '../auth/Actor.js';

/** `<domain>.<verb>`, as API.md lists them. */
export type AuditAction =
  | 'cluster.create'
  | 'cluster.update'
  | 'replica.add'
  | 'replica.remove'
  | 'replica.health'
  | 'replica.drain'
  | 'replica.undrain'
  | 'replica.settings'
  | 'shard-map.set-ranges'
  | 'shard-map.split'
  | 'shard-map.assign'
  | 'shard-map.merge'
  | 'placement.set'
  | 'placement.remove'
  | 'token.create'
  | 'token.revoke'
  | 'rollout.create'
  | 'rollout.set'
  | 'rollout.advance'
  | 'rollout.pause'
  | 'rollout.resume'
  | 'rollout.rollback'
  | 'rollout.kill'
  | 'rollout.gate'
  | 'cohort.create'
  | 'move.create'
  | 'move.fence'
  | 'move.release'
  | 'move.flip'
  | 'move.resume'
  | 'move.abort'
  | 'move.rollback'
  | 'move.complete'
  | 'unleash.import'
  | 'limits.set'
  | 'limits.unset'
  | 'cors.add'
  | 'cors.remove';

export interface AuditEntryInput {
  actor: Actor;
  action: AuditAction;
  reason: string | null;
  /** State before and after, as the API shows it (never a secret). */
  before: unknown;
  after: unknown;
  /** The config version the change produced; null for changes outside the config. */
  version: number | null;
}

export interface AuditEntry {
  id: number;
  actor: string;
  tokenId: string | null;
  action: string;
  reason: string | null;
  before: unknown;
  after: unknown;
  version: number | null;
  createdAt: string;
}

export interface AuditQuery {
  limit: number;
  action?: string;
  beforeId?: number;
}

interface Row {
  id: string;
  actor: string;
  token_id: string | null;
  action: string;
  reason: string | null;
  before: unknown;
  after: unknown;
  version: string | null;
  created_at: Date;
}

/** Owns audit_log. */
export class AuditStore {
  constructor(private readonly db: Queryable) {}

  async insert(entry: AuditEntryInput): Promise<number> {
    const { rows } = await this.db.query<{ id: string }>(
      `INSERT INTO audit_log (actor, token_id, action, reason, before, after, version)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7) RETURNING id`,
      [
        entry.actor.name,
        entry.actor.tokenId,
        entry.action,
        entry.reason,
        JSON.stringify(entry.before ?? null),
        JSON.stringify(entry.after ?? null),
        entry.version,
      ],
    );
    return Number(rows[0]!.id);
  }

  /** Newest first. */
  async list(query: AuditQuery): Promise<AuditEntry[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, actor, token_id, action, reason, before, after, version, created_at FROM audit_log
       WHERE ($1::text IS NULL OR action = $1) AND ($2::bigint IS NULL OR id < $2)
       ORDER BY id DESC LIMIT $3`,
      [query.action ?? null, query.beforeId ?? null, query.limit],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      actor: row.actor,
      tokenId: row.token_id,
      action: row.action,
      reason: row.reason,
      before: row.before,
      after: row.after,
      version: row.version === null ? null : Number(row.version),
      createdAt: row.created_at.toISOString(),
    }));
  }
}
