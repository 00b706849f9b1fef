import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuthRevokedReason } from '#libs/contracts';
import type { Queryable } from '#libs/database';
import { CredentialCache } from './credential-cache.js';
import { OrgTokenRepository, type OrgTokenRecord } from './org-token.repository.js';
import type { OrgRole } from './principal.js';
import { generateToken, hashToken } from './token-hash.js';

export const ORG_TOKEN_PREFIX = 'plat_org';

/** Org API tokens: random, shown once, stored as a hash, with a role and an optional expiry. */
@Injectable()
export class OrgTokenService {
  constructor(
    private readonly tokens: OrgTokenRepository,
    private readonly cache: CredentialCache,
  ) {}

  /** Creates a token; the secret is in the answer and nowhere else. */
  async create(
    orgId: string,
    input: { name: string; role: OrgRole; expiresAt?: Date | null },
    client?: Queryable,
  ): Promise<{ record: OrgTokenRecord; token: string }> {
    const token = generateToken(ORG_TOKEN_PREFIX);
    const record = await this.tokens.insert(
      { id: randomUUID(), orgId, name: input.name, role: input.role, hash: hashToken(token), expiresAt: input.expiresAt ?? null },
      client,
    );
    return { record, token };
  }

  list(orgId: string): Promise<OrgTokenRecord[]> {
    return this.tokens.list(orgId);
  }

  /** Revokes the token; it and its sessions stop working, and their sockets close, on every API process. */
  async revoke(orgId: string, id: string): Promise<boolean> {
    const revoked = await this.tokens.revoke(orgId, id);
    if (revoked) await this.cache.revoke({ scope: 'token', id, reason: AuthRevokedReason.tokenRevoked });
    return revoked;
  }

  /**
   * Gives the token another role. Its sockets, and those of its sessions, close on every
   * API process (they were authorized under the old role); the token and its sessions
   * keep working with the new role.
   */
  async changeRole(orgId: string, id: string, role: OrgRole): Promise<OrgTokenRecord | undefined> {
    const record = await this.tokens.changeRole(orgId, id, role);
    if (record) await this.cache.revoke({ scope: 'token', id, reason: AuthRevokedReason.roleChanged });
    return record;
  }

  /** Ends every credential of a deprovisioned org: cached principals and live sockets, on every API process. */
  async orgDeprovisioned(orgId: string): Promise<void> {
    await this.cache.revoke({ scope: 'org', id: orgId, reason: AuthRevokedReason.orgDeprovisioned });
  }
}
