import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { OrgPrincipal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { RedisConnection, RedisKeys } from '#libs/redis';

/**
 * KEYS: org connections, token connections. ARGV: slot, lease ms, most per org, most per token.
 * Returns 'ok' or the name of the cap that is full. Slots whose lease ran out (their API
 * process died) are dropped first, by Redis' clock, so every process counts alike.
 */
const ADMIT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 'REALTIME_SOCKETS_PER_ORG' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'REALTIME_SOCKETS_PER_TOKEN' end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease * 2)
redis.call('PEXPIRE', KEYS[2], lease * 2)
return 'ok'`;

/** KEYS: org connections, token connections. ARGV: slot, lease ms. Renews a live slot (never re-adds a released one). */
const RENEW = `
local clock = redis.call('TIME')
local expiry = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) + tonumber(ARGV[2])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
return 1`;

interface SlotScripts {
  admitSupabaseConnection(...args: (string | number)[]): Promise<string>;
  renewSupabaseConnection(...args: (string | number)[]): Promise<number>;
}

/** A connection a cap refused; `limit` names the setting. */
export class ConnectionLimitExceeded extends Error {
  constructor(readonly limit: string) {
    super(`too many realtime connections (${limit})`);
    this.name = 'ConnectionLimitExceeded';
  }
}

/** One held connection slot. */
export interface ConnectionSlot {
  orgId: string;
  tokenId: string;
  id: string;
}

/**
 * The Supabase endpoint's connection caps: REALTIME_SOCKETS_PER_ORG and
 * REALTIME_SOCKETS_PER_TOKEN, counted across API processes by one script per check
 * (sorted sets of slots scored by lease expiry under the org's hash tag), leased for
 * REALTIME_SLOT_TTL_MS and renewed by the process that holds the connection.
 */
@Injectable()
export class ConnectionSlots {
  private readonly redis: Redis & SlotScripts;

  constructor(
    connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {
    this.redis = connection.client as Redis & SlotScripts;
    this.redis.defineCommand('admitSupabaseConnection', { numberOfKeys: 2, lua: ADMIT });
    this.redis.defineCommand('renewSupabaseConnection', { numberOfKeys: 2, lua: RENEW });
  }

  private keysOf(slot: ConnectionSlot): [string, string] {
    return [this.keys.org(slot.orgId, 'supabase-connections'), this.keys.org(slot.orgId, 'supabase-connections', 'token', slot.tokenId)];
  }

  /** Takes a slot for a new connection of `principal`; ConnectionLimitExceeded when a cap is full. */
  async admit(principal: OrgPrincipal, id: string): Promise<ConnectionSlot> {
    const slot = { orgId: principal.orgId, tokenId: principal.tokenId, id };
    const answer = await this.redis.admitSupabaseConnection(
      ...this.keysOf(slot),
      id,
      this.config.REALTIME_SLOT_TTL_MS,
      this.config.REALTIME_SOCKETS_PER_ORG,
      this.config.REALTIME_SOCKETS_PER_TOKEN,
    );
    if (answer !== 'ok') throw new ConnectionLimitExceeded(answer);
    return slot;
  }

  async renew(slots: ConnectionSlot[]): Promise<void> {
    if (slots.length === 0) return;
    const pipeline = this.redis.pipeline() as unknown as SlotScripts & { exec(): Promise<unknown> };
    for (const slot of slots) {
      void pipeline.renewSupabaseConnection(...this.keysOf(slot), slot.id, this.config.REALTIME_SLOT_TTL_MS);
    }
    await pipeline.exec();
  }

  async release(slot: ConnectionSlot): Promise<void> {
    const [org, token] = this.keysOf(slot);
    await this.redis.pipeline().zrem(org, slot.id).zrem(token, slot.id).exec();
  }
}
