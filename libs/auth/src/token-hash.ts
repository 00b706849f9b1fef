import { createHash, randomBytes } from 'node:crypto';

const TOKEN_BYTES = 32;

/** A new random secret token: `<prefix>_` then 43 base64url characters (256 bits). */
export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(TOKEN_BYTES).toString('base64url')}`;
}

/** The stored form of a token: tokens carry 256 random bits, so a plain SHA-256 cannot be brute-forced. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
