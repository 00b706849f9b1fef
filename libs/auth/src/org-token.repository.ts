import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { ControlPlaneDatabase, type Queryable } from '#libs/database';
import type { OrgRole } from './principal.js';

export interface OrgTokenRecord {
  id: string;
  orgId: string;
  name: string;
  role: OrgRole;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

interface TokenRow extends pg.QueryResultRow {
  id: string;
  org_id: string;
  name: string;
  role: OrgRole;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, org_id, name, role, created_at, expires_at, revoked_at, last_used_at';

function toRecord(row: TokenRow): OrgTokenRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    role: row.role,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/** SQL of org_api_tokens: hashes only, never the secrets. */
@Injectable()
export class OrgTokenRepository {
  constructor(private readonly database: ControlPlaneDatabase) {}

  async insert(
    token: { id: string; orgId: string; name: string; role: OrgRole; hash: string; expiresAt: Date | null },
    client: Queryable = this.database,
  ): Promise<OrgTokenRecord> {
    const { rows } = await client.query<TokenRow>(
      `INSERT INTO org_api_tokens (id, org_id, name, role, token_sha256, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [token.id, token.orgId, token.name, token.role, token.hash, token.expiresAt],
    );
    return toRecord(rows[0]!);
  }

  /** The token with this hash if it is neither revoked nor expired. */
  async findUsableByHash(hash: string): Promise<OrgTokenRecord | undefined> {
    const { rows } = await this.database.query<TokenRow>(
      `SELECT ${COLUMNS} FROM org_api_tokens
        WHERE token_sha256 = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [hash],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** The token with this id if it is neither revoked nor expired. */
  async findUsableById(id: string): Promise<OrgTokenRecord | undefined> {
    const { rows } = await this.database.query<TokenRow>(
      `SELECT ${COLUMNS} FROM org_api_tokens WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [id],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** The org's tokens, newest first, revoked ones included (they show when). */
  async list(orgId: string): Promise<OrgTokenRecord[]> {
    const { rows } = await this.database.query<TokenRow>(
      `SELECT ${COLUMNS} FROM org_api_tokens WHERE org_id = $1 ORDER BY created_at DESC`,
      [orgId],
    );
    return rows.map(toRecord);
  }

  /** Revokes the org's token `id`; false when the org has no such live token. */
  async revoke(orgId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.database.query(
      'UPDATE org_api_tokens SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL',
      [id, orgId],
    );
    return rowCount === 1;
  }

  /** Changes the org's live token `id` to `role`; undefined when the org has no such live token. */
  async changeRole(orgId: string, id: string, role: OrgRole): Promise<OrgTokenRecord | undefined> {
    const { rows } = await this.database.query<TokenRow>(
      `UPDATE org_api_tokens SET role = $3 WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [id, orgId, role],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Sets each token's last_used_at, never moving it back; one statement for the whole batch. */
  async recordLastUsed(usage: Map<string, Date>): Promise<void> {
    await this.database.query(
      `UPDATE org_api_tokens t SET last_used_at = GREATEST(t.last_used_at, u.at)
         FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) WHERE t.id = u.id`,
      [[...usage.keys()], [...usage.values()]],
    );
  }
}
