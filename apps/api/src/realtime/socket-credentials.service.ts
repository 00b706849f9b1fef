import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { Authenticator, CredentialCache, LoginFailureLimiter, type CredentialRevocation, type VerifiedCredential } from '#libs/auth';
import { AuthRevokedReason, InvalidPayloadError, RealtimeAuthMessage, validatePayload, type AuthRevokedNotice } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RefreshAuthDto } from './refresh-auth.dto.js';

/** Longest delay a Node timer takes; a later expiry is re-checked when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const REVOCATION_MESSAGES: Record<CredentialRevocation['reason'], string> = {
  token_revoked: 'the API token was revoked',
  role_changed: "the API token's role changed: connect again",
  org_deprovisioned: 'the organization is being deprovisioned',
};

/** What `auth.refresh` answers. */
export type RefreshAnswer = { ok: true; expiresAt: string | null } | { ok: false; error: string; message: string };

interface WatchedSocket {
  orgId: string;
  tokenId: string;
  expiresAt: number | undefined;
  timer?: NodeJS.Timeout;
}

/**
 * Keeps each org socket's credential honest for as long as the socket lives: closes it
 * (after an `auth_revoked` notice) when its API token is revoked or changes role, when its
 * org is deprovisioned (heard on every API process through the credential cache's
 * broadcast), and when its credential expires unless `auth.refresh` handed over a newer
 * one of the same API token first.
 */
@Injectable()
export class SocketCredentials implements OnModuleInit, OnModuleDestroy {
  private readonly watched = new Map<Socket, WatchedSocket>();
  private stopListening?: () => void;

  constructor(
    private readonly cache: CredentialCache,
    private readonly authenticator: Authenticator,
    private readonly limiter: LoginFailureLimiter,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.stopListening = this.cache.onRevocation((revocation) => this.revoked(revocation));
  }

  onModuleDestroy(): void {
    this.stopListening?.();
    for (const watch of this.watched.values()) clearTimeout(watch.timer);
    this.watched.clear();
  }

  /** Starts watching a socket authenticated by `credential` (org credentials only: the platform admin token neither expires nor is revoked). */
  watch(socket: Socket, credential: VerifiedCredential): void {
    if (credential.principal.kind !== 'org') return;
    const watch: WatchedSocket = {
      orgId: credential.principal.orgId,
      tokenId: credential.principal.tokenId,
      expiresAt: credential.expiresAt,
    };
    this.watched.set(socket, watch);
    this.armExpiry(socket, watch);
  }

  /** Stops watching a socket that disconnected. */
  forget(socket: Socket): void {
    clearTimeout(this.watched.get(socket)?.timer);
    this.watched.delete(socket);
  }

  /**
   * `auth.refresh`: accepts a valid credential of the same API token (a newer session JWT,
   * or the API token itself), so the socket outlives the credential it connected with.
   * The socket's principal becomes the new credential's.
   */
  async refresh(socket: Socket, body: unknown): Promise<RefreshAnswer> {
    let request: RefreshAuthDto;
    try {
      request = validatePayload(RefreshAuthDto, typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {});
    } catch (error) {
      if (error instanceof InvalidPayloadError) return { ok: false, error: 'invalid_payload', message: error.message };
      throw error;
    }
    const watch = this.watched.get(socket);
    if (!watch) return { ok: false, error: 'not_refreshable', message: 'only an org connection has a credential to refresh' };
    const source = socket.handshake.address || 'unknown';
    if (await this.limiter.isBlocked(source)) {
      return { ok: false, error: 'rate_limited', message: 'too many failed logins from this address; try again later' };
    }
    const credential = await this.authenticator.verify(request.token);
    if (!credential) {
      await this.limiter.recordFailure(source);
      this.logger.warn({ source, socket: socket.id }, 'failed realtime token refresh');
      return { ok: false, error: 'invalid_token', message: 'invalid, expired or revoked token' };
    }
    const { principal } = credential;
    if (principal.kind !== 'org' || principal.orgId !== watch.orgId || principal.tokenId !== watch.tokenId) {
      return {
        ok: false,
        error: 'token_mismatch',
        message: 'the new credential must belong to the API token this connection was opened with',
      };
    }
    if (!this.watched.has(socket)) return { ok: false, error: 'not_refreshable', message: 'the connection has closed' };
    (socket.data as { principal: unknown }).principal = principal;
    clearTimeout(watch.timer);
    watch.expiresAt = credential.expiresAt;
    this.armExpiry(socket, watch);
    return { ok: true, expiresAt: credential.expiresAt === undefined ? null : new Date(credential.expiresAt).toISOString() };
  }

  private armExpiry(socket: Socket, watch: WatchedSocket): void {
    if (watch.expiresAt === undefined) return;
    const remaining = watch.expiresAt - Date.now();
    if (remaining <= 0) return this.end(socket, AuthRevokedReason.credentialExpired, 'the credential expired: refresh it before it does');
    watch.timer = setTimeout(() => this.armExpiry(socket, watch), Math.min(remaining, MAX_TIMER_MS));
    watch.timer.unref();
  }

  private revoked(revocation: CredentialRevocation): void {
    for (const [socket, watch] of this.watched) {
      const hit = revocation.scope === 'token' ? watch.tokenId === revocation.id : watch.orgId === revocation.id;
      if (hit) this.end(socket, revocation.reason, REVOCATION_MESSAGES[revocation.reason]);
    }
  }

  /** Tells the client why, then closes: the notice goes out before the disconnect packet on the same connection. */
  private end(socket: Socket, reason: AuthRevokedReason, message: string): void {
    this.forget(socket);
    const notice: AuthRevokedNotice = { reason, message };
    socket.emit(RealtimeAuthMessage.revoked, notice);
    socket.disconnect(true);
  }
}
