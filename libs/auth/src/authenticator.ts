import { Injectable } from '@nestjs/common';
import { OrgDirectory } from '#libs/registry';
import { AdminTokenService } from './admin-token.service.js';
import { CredentialCache } from './credential-cache.js';
import { ORG_TOKEN_PREFIX } from './org-token.service.js';
import { OrgTokenRepository, type OrgTokenRecord } from './org-token.repository.js';
import type { OrgPrincipal, Principal } from './principal.js';
import { SessionTokens } from './session-tokens.js';
import { hashToken } from './token-hash.js';

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** Turns a bearer credential (org API token, session JWT, platform admin token) into who it is; the same for HTTP and sockets. */
@Injectable()
export class Authenticator {
  constructor(
    private readonly tokens: OrgTokenRepository,
    private readonly sessions: SessionTokens,
    private readonly adminToken: AdminTokenService,
    private readonly orgs: OrgDirectory,
    private readonly cache: CredentialCache,
  ) {}

  /** The principal, or undefined when the credential is unknown, tampered, expired or revoked. */
  async authenticate(bearer: string): Promise<Principal | undefined> {
    const remembered = this.cache.get(bearer);
    if (remembered) return remembered;
    if (bearer.startsWith(`${ORG_TOKEN_PREFIX}_`)) {
      const token = await this.tokens.findUsableByHash(hashToken(bearer));
      return token && this.remember(bearer, await this.orgPrincipal(token, 'api-token'), token.expiresAt);
    }
    if (JWT_SHAPE.test(bearer)) {
      const claims = await this.sessions.verify(bearer);
      const token = claims && (await this.tokens.findUsableById(claims.sub));
      if (!token || token.orgId !== claims.org_id) return undefined;
      const sessionEnds = Math.min(claims.exp * 1000, token.expiresAt ? Date.parse(token.expiresAt) : Infinity);
      return this.remember(bearer, await this.orgPrincipal(token, 'session'), new Date(sessionEnds).toISOString());
    }
    return (await this.adminToken.verify(bearer)) ? this.remember(bearer, { kind: 'platform-admin' }, null) : undefined;
  }

  private remember<P extends Principal>(bearer: string, principal: P | undefined, expiresAt: string | null): P | undefined {
    if (principal) this.cache.set(bearer, principal, expiresAt ? Date.parse(expiresAt) : undefined);
    return principal;
  }

  private async orgPrincipal(token: OrgTokenRecord, via: OrgPrincipal['via']): Promise<OrgPrincipal | undefined> {
    const org = await this.orgs.findLive(token.orgId);
    return org && { kind: 'org', orgId: org.id, orgSlug: org.slug, role: token.role, tokenId: token.id, tokenName: token.name, via };
  }
}
