import { Injectable } from '@nestjs/common';
import { OrgDirectory } from '#libs/registry';
import { AdminTokenService } from './admin-token.service.js';
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
  ) {}

  /** The principal, or undefined when the credential is unknown, tampered, expired or revoked. */
  async authenticate(bearer: string): Promise<Principal | undefined> {
    if (bearer.startsWith(`${ORG_TOKEN_PREFIX}_`)) {
      const token = await this.tokens.findUsableByHash(hashToken(bearer));
      return token && this.orgPrincipal(token, 'api-token');
    }
    if (JWT_SHAPE.test(bearer)) {
      const claims = await this.sessions.verify(bearer);
      const token = claims && (await this.tokens.findUsableById(claims.sub));
      return token && token.orgId === claims.org_id ? this.orgPrincipal(token, 'session') : undefined;
    }
    return (await this.adminToken.verify(bearer)) ? { kind: 'platform-admin' } : undefined;
  }

  private async orgPrincipal(token: OrgTokenRecord, via: OrgPrincipal['via']): Promise<OrgPrincipal | undefined> {
    const org = await this.orgs.findLive(token.orgId);
    return org && { kind: 'org', orgId: org.id, orgSlug: org.slug, role: token.role, tokenId: token.id, via };
  }
}
