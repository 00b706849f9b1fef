import { Injectable } from '@nestjs/common';
import { jwtVerify, SignJWT } from 'jose';
import { PlatformConfig } from '#libs/config';
import type { OrgPrincipal } from './principal.js';

const ALGORITHM = 'HS256';
/** Supabase's audience and role for signed-in users, so PostgREST and Realtime accept the same JWT. */
const AUDIENCE = 'authenticated';
const ISSUER = 'platform';

export interface SessionClaims {
  sub: string;
  role: 'authenticated';
  org_id: string;
  app_role: OrgPrincipal['role'];
  exp: number;
}

/** Short-lived session JWTs (HS256 under JWT_SECRET) with Supabase-compatible claims. */
@Injectable()
export class SessionTokens {
  private readonly secret: Uint8Array;

  constructor(private readonly config: PlatformConfig) {
    if (!config.JWT_SECRET) throw new Error('JWT_SECRET must be resolved before sessions are issued');
    this.secret = new TextEncoder().encode(config.JWT_SECRET);
  }

  /** A JWT for the principal's token; `sub` is the API token id, so revoking the token ends the session too. */
  async issue(principal: OrgPrincipal): Promise<{ access_token: string; token_type: 'bearer'; expires_in: number }> {
    const expiresIn = this.config.SESSION_TTL_SECONDS;
    const accessToken = await new SignJWT({ role: 'authenticated', org_id: principal.orgId, app_role: principal.role })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(principal.tokenId)
      .setAudience(AUDIENCE)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${expiresIn}s`)
      .sign(this.secret);
    return { access_token: accessToken, token_type: 'bearer', expires_in: expiresIn };
  }

  /** The claims of a valid, unexpired session JWT; undefined for anything else. */
  async verify(jwt: string): Promise<SessionClaims | undefined> {
    try {
      const { payload } = await jwtVerify(jwt, this.secret, { algorithms: [ALGORITHM], audience: AUDIENCE, issuer: ISSUER });
      if (typeof payload.sub !== 'string' || typeof payload.org_id !== 'string' || typeof payload.exp !== 'number') return undefined;
      return payload as unknown as SessionClaims;
    } catch {
      return undefined;
    }
  }
}
