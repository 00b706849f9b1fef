import { Injectable } from '@nestjs/common';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { jwtSecrets, PlatformConfig, type IdentifiedKey } from '#libs/config';
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

/**
 * Short-lived session JWTs (HS256 under JWT_SECRET) with Supabase-compatible claims. While
 * JWT_SECRET is rotated it holds several identified secrets: the first signs (its id is
 * the header's `kid`), every one verifies, so sessions signed before the switch live on
 * until they expire.
 */
@Injectable()
export class SessionTokens {
  private readonly secrets: IdentifiedKey<Uint8Array>[];

  constructor(private readonly config: PlatformConfig) {
    if (!config.JWT_SECRET) throw new Error('JWT_SECRET must be resolved before sessions are issued');
    this.secrets = jwtSecrets(config.JWT_SECRET);
  }

  /** A JWT for the principal's token; `sub` is the API token id, so revoking the token ends the session too. */
  async issue(principal: OrgPrincipal): Promise<{ access_token: string; token_type: 'bearer'; expires_in: number }> {
    const expiresIn = this.config.SESSION_TTL_SECONDS;
    const accessToken = await new SignJWT({ role: 'authenticated', org_id: principal.orgId, app_role: principal.role })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: this.secrets[0]!.id })
      .setSubject(principal.tokenId)
      .setAudience(AUDIENCE)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${expiresIn}s`)
      .sign(this.secrets[0]!.key);
    return { access_token: accessToken, token_type: 'bearer', expires_in: expiresIn };
  }

  /**
   * The configured secrets as a JSON Web Key Set (`kty: "oct"`, `kid` = the secret's id):
   * what PostgREST takes as its JWT secret while JWT_SECRET holds more than one.
   */
  jwks(): { keys: { kty: 'oct'; kid: string; alg: typeof ALGORITHM; k: string }[] } {
    return {
      keys: this.secrets.map(({ id, key }) => ({ kty: 'oct', kid: id, alg: ALGORITHM, k: Buffer.from(key).toString('base64url') })),
    };
  }

  /** The claims of a valid, unexpired session JWT; undefined for anything else. */
  async verify(jwt: string): Promise<SessionClaims | undefined> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(jwt).kid;
    } catch {
      return undefined;
    }
    // A known kid names its secret; a JWT without one (signed before secrets had ids), or whose id was renamed, may be under any.
    const named = this.secrets.filter((secret) => secret.id === kid);
    const candidates = named.length > 0 ? named : this.secrets;
    for (const { key } of candidates) {
      try {
        const { payload } = await jwtVerify(jwt, key, { algorithms: [ALGORITHM], audience: AUDIENCE, issuer: ISSUER });
        if (typeof payload.sub !== 'string' || typeof payload.org_id !== 'string' || typeof payload.exp !== 'number') return undefined;
        return payload as unknown as SessionClaims;
      } catch {
        continue;
      }
    }
    return undefined;
  }
}
