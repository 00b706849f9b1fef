import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { AuthRevokedReason } from '#libs/contracts';
import { closeRedis, RedisConnection, RedisKeys } from '#libs/redis';
import type { Principal } from './principal.js';
import { hashToken } from './token-hash.js';

/** Credentials remembered at most; the least recently used are forgotten first. */
const MAX_ENTRIES = 10_000;

/** Credentials that stopped being what they were: one API token (and its sessions), or every token of an org. */
export type CredentialRevocation =
  | { scope: 'token'; id: string; reason: typeof AuthRevokedReason.tokenRevoked | typeof AuthRevokedReason.roleChanged }
  | { scope: 'org'; id: string; reason: typeof AuthRevokedReason.orgDeprovisioned };

/** A verified credential: who it is, and when it stops working (ms since the epoch; undefined: never). */
export interface VerifiedCredential {
  principal: Principal;
  expiresAt: number | undefined;
}

const REVOCATION_SCOPES = new Set(['token', 'org']);
const REVOCATION_REASONS = new Set<string>(Object.values(AuthRevokedReason));

function parseRevocation(message: string): CredentialRevocation | undefined {
  try {
    const value = JSON.parse(message) as Partial<CredentialRevocation>;
    if (REVOCATION_SCOPES.has(value.scope!) && typeof value.id === 'string' && REVOCATION_REASONS.has(value.reason!)) {
      return value as CredentialRevocation;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Remembers verified credentials for AUTH_CACHE_TTL_MS, so a busy client does not cost
 * two control-plane queries per request. Revoking a token, changing its role or
 * deprovisioning its org evicts it here at once and, through Redis pub/sub, on every
 * other process within milliseconds; listeners (the realtime gateway) hear of it on each.
 */
@Injectable()
export class CredentialCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly entries = new Map<string, { credential: VerifiedCredential; rememberedUntil: number }>();
  private readonly listeners = new Set<(revocation: CredentialRevocation) => void>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {}

  private get channel(): string {
    return this.keys.platform('token-revocations');
  }

  // Subscribed even with the cache off: live sockets must hear of revocations made on other processes.
  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, message: string) => {
      const revocation = parseRevocation(message);
      if (revocation) this.apply(revocation);
    });
    await this.subscriber.subscribe(this.channel);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber) await closeRedis(this.subscriber, this.config.CONNECT_TIMEOUT_MS);
  }

  /** The credential `bearer` was verified as, if that is recent enough. */
  get(bearer: string): VerifiedCredential | undefined {
    const key = hashToken(bearer);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.rememberedUntil <= Date.now()) return undefined;
    this.entries.set(key, entry);
    return entry.credential;
  }

  /** Remembers a verified credential, never past its own expiry. */
  set(bearer: string, credential: VerifiedCredential): void {
    if (this.config.AUTH_CACHE_TTL_MS === 0) return;
    const rememberedUntil = Math.min(Date.now() + this.config.AUTH_CACHE_TTL_MS, credential.expiresAt ?? Infinity);
    this.entries.set(hashToken(bearer), { credential, rememberedUntil });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Calls `listener` for every revocation, made on this process or another. */
  onRevocation(listener: (revocation: CredentialRevocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the revoked credentials here and tells the other processes to. */
  async revoke(revocation: CredentialRevocation): Promise<void> {
    this.apply(revocation);
    await this.redis.client.publish(this.channel, JSON.stringify(revocation));
  }

  private apply(revocation: CredentialRevocation): void {
    for (const [key, { credential }] of this.entries) {
      const { principal } = credential;
      if (principal.kind !== 'org') continue;
      if (revocation.scope === 'token' ? principal.tokenId === revocation.id : principal.orgId === revocation.id) this.entries.delete(key);
    }
    for (const listener of this.listeners) listener(revocation);
  }
}
