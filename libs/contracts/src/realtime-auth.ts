/** Socket.IO messages about a realtime connection's credential, the counterpart of Supabase Realtime's `access_token`. */
export const RealtimeAuthMessage = {
  /** client → server `{ token }`, ack `{ ok: true, expiresAt }` or `{ ok: false, error, message }`: a fresh credential of the same API token. */
  refresh: 'auth.refresh',
  /** server → client `{ reason, message }`, sent just before the server closes the socket. */
  revoked: 'auth_revoked',
} as const;

/** Why the server closed a realtime connection's authentication. */
export const AuthRevokedReason = {
  tokenRevoked: 'token_revoked',
  roleChanged: 'role_changed',
  orgDeprovisioned: 'org_deprovisioned',
  credentialExpired: 'credential_expired',
} as const;
export type AuthRevokedReason = (typeof AuthRevokedReason)[keyof typeof AuthRevokedReason];

/** The payload of `auth_revoked`. */
export interface AuthRevokedNotice {
  reason: AuthRevokedReason;
  message: string;
}
