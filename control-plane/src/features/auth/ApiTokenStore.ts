import type { Queryable } from '../../db/Database.js';
import type { Scope } from './Actor.js';

export interface ApiTokenRecord {
  id: string;
  name: string;
  scope: Scope;
  secretHash: string;
  createdAt: string;
  revokedAt: string | null;
}

/** What the API shows of a token: never the hash. */
export type ApiTokenView = Omit<ApiTokenRecord, 'secretHash'>;

interface Row {
  id: string;
  name: string;
  scope: Scope;
  secret_hash: string;
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = 'id, name, scope, secret_hash, created_at, revoked_at';

function toRecord(row: Row): ApiTokenRecord {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope,
    secretHash: row.secret_hash,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null,
  };
}

export function toTokenView({ secretHash: _, ...view }: ApiTokenRecord): ApiTokenView {
  return view;
}

/** Owns api_tokens. */
export class ApiTokenStore {
  constructor(private readonly db: Queryable) {}

  async insert(token: { id: string; name: string; scope: Scope; secretHash: string }): Promise<ApiTokenRecord> {
    const { rows } = await this.db.query<Row>(
      `INSERT INTO api_tokens (id, name, scope, secret_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
      [token.id, token.name, token.scope, token.secretHash],
    );
    return toRecord(rows[0]!);
  }

  async get(id: string): Promise<ApiTokenRecord | null> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(): Promise<ApiTokenRecord[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  /** Revoke a live token; null when it does not exist or was already revoked. */
  async revoke(id: string): Promise<ApiTokenRecord | null> {
    const { rows } = await this.db.query<Row>(
      `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }
}
