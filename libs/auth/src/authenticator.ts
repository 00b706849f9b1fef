import { Injectable } from '@nestjs/common';
import { OrgDirectory } from '#libs/registry';
import { AdminTokenService } from './admin-token.service.js';
import { CredentialCache, type VerifiedCredential } from './credential-cache.js';
import { ORG_TOKEN_PREFIX } from './org-token.service.js';
import { OrgTokenRepository, type OrgTokenRecord } from './org-token.repository.js';
import type { OrgPrincipal, Principal } from './principal.js';
import { SessionTokens } from './session-tokens.js';
import { hashToken } from './token-hash.js';
import { TokenUsageRecorder } from './token-usage.recorder.js';

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
    private readonly usage: TokenUsageRecorder,
  ) {}

  /** The principal, or undefined when the credential is unknown, tampered, expired or revoked. */
  async authenticate(bearer: string): Promise<Principal | undefined> {
    return (await this.verify(bearer))?.principal;
  }

  /**
   * The principal of a credential verified moments ago, from memory (no lookup, no await),
   * or undefined when it has to go through `authenticate`.
   */
  cached(bearer: string): Principal | undefined {
    const credential = this.cache.get(bearer);
    if (credential?.principal.kind === 'org') this.usage.record(credential.principal.tokenId);
    return credential?.principal;
  }

  /** The principal and when the credential stops working, or undefined when it is unknown, tampered, expired or revoked. */
  async verify(bearer: string): Promise<VerifiedCredential | undefined> {
    const credential = this.cache.get(bearer) ?? (await this.verifyUncached(bearer));
    if (credential?.principal.kind === 'org') this.usage.record(credential.principal.tokenId);
    return credential;
  }

  private async verifyUncached(bearer: string): Promise<VerifiedCredential | undefined> {
    if (bearer.startsWith(`${ORG_TOKEN_PREFIX}_`)) {
      const token = await this.tokens.findUsableByHash(hashToken(bearer));
      return token && this.remember(bearer, await this.orgPrincipal(token, 'api-token'), expiryOf(token));
    }
    if (JWT_SHAPE.test(bearer)) {
      const claims = await this.sessions.verify(bearer);
      const token = claims && (await this.tokens.findUsableById(claims.sub));
      if (!token || token.orgId !== claims.org_id) return undefined;
      return this.remember(bearer, await this.orgPrincipal(token, 'session'), Math.min(claims.exp * 1000, expiryOf(token) ?? Infinity));
    }
    return (await this.adminToken.verify(bearer)) ? this.remember(bearer, { kind: 'platform-admin' }, undefined) : undefined;
  }

  private remember(bearer: string, principal: Principal | undefined, expiresAt: number | undefined): VerifiedCredential | undefined {
    if (!principal) return undefined;
    const credential = { principal, expiresAt };
    this.cache.set(bearer, credential);
    return credential;
  }

  private async orgPrincipal(token: OrgTokenRecord, via: OrgPrincipal['via']): Promise<OrgPrincipal | undefined> {
    const org = await this.orgs.findLive(token.orgId);
    return org && { kind: 'org', orgId: org.id, orgSlug: org.slug, role: token.role, tokenId: token.id, tokenName: token.name, via };
  }
}

function expiryOf(token: OrgTokenRecord): number | undefined {
  return token.expiresAt ? Date.parse(token.expiresAt) : undefined;
}
