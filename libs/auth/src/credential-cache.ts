import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { closeRedis, RedisConnection, RedisKeys } from '#libs/redis';
import type { Principal } from './principal.js';
import { hashToken } from './token-hash.js';

/** Credentials remembered at most; the least recently used are forgotten first. */
const MAX_ENTRIES = 10_000;

/**
 * Remembers verified credentials for AUTH_CACHE_TTL_MS, so a busy client does not cost
 * two control-plane queries per request. Revoking a token evicts it here at once and,
 * through Redis pub/sub, on every other process within milliseconds.
 */
@Injectable()
export class CredentialCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly entries = new Map<string, { principal: Principal; expiresAt: number }>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {}

  private get channel(): string {
    return this.keys.platform('token-revocations');
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.AUTH_CACHE_TTL_MS === 0) return;
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, tokenId: string) => this.evictToken(tokenId));
    await this.subscriber.subscribe(this.channel);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber) await closeRedis(this.subscriber, this.config.CONNECT_TIMEOUT_MS);
  }

  /** The principal `bearer` was verified as, if that is recent enough. */
  get(bearer: string): Principal | undefined {
    const key = hashToken(bearer);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    this.entries.set(key, entry);
    return entry.principal;
  }

  /** Remembers a verified credential, never past its own expiry. */
  set(bearer: string, principal: Principal, credentialExpiresAt?: number): void {
    if (this.config.AUTH_CACHE_TTL_MS === 0) return;
    const expiresAt = Math.min(Date.now() + this.config.AUTH_CACHE_TTL_MS, credentialExpiresAt ?? Infinity);
    this.entries.set(hashToken(bearer), { principal, expiresAt });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Forgets every credential of token `tokenId` here and tells the other processes to. */
  async revoked(tokenId: string): Promise<void> {
    this.evictToken(tokenId);
    await this.redis.client.publish(this.channel, tokenId);
  }

  private evictToken(tokenId: string): void {
    for (const [key, { principal }] of this.entries) {
      if (principal.kind === 'org' && principal.tokenId === tokenId) this.entries.delete(key);
    }
  }
}
