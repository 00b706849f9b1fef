import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { OrgPrincipal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { ADMIT_SOCKET, RELEASE_SOCKET, RENEW_SOCKET } from '../realtime/socket-slot.scripts.js';

interface SlotScripts {
  admitSupabaseConnection(...args: (string | number)[]): Promise<string>;
  renewSupabaseConnection(...args: (string | number)[]): Promise<number>;
  releaseSupabaseConnection(...args: string[]): Promise<unknown>;
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
 * REALTIME_SOCKETS_PER_TOKEN, counted across API processes by one script per check in
 * the same sorted sets as the Socket.IO sockets (RealtimeLimits: slots scored by lease
 * expiry under the org's hash tag), so a cap counts both kinds; leased for
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
    this.redis.defineCommand('admitSupabaseConnection', { numberOfKeys: 3, lua: ADMIT_SOCKET });
    this.redis.defineCommand('renewSupabaseConnection', { numberOfKeys: 3, lua: RENEW_SOCKET });
    this.redis.defineCommand('releaseSupabaseConnection', { numberOfKeys: 3, lua: RELEASE_SOCKET });
  }

  // The Socket.IO sockets' own keys and scripts: one cap per org and per token counts both kinds of connection.
  private keysOf(slot: ConnectionSlot): [string, string, string] {
    return [this.keys.orgSockets(slot.orgId), this.keys.tokenSockets(slot.orgId, slot.tokenId), this.keys.orgSubscriptions(slot.orgId)];
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
      // No Socket.IO subscriptions: REALTIME_SUBSCRIPTIONS_PER_ORG sums those, not channels.
      void pipeline.renewSupabaseConnection(...this.keysOf(slot), slot.id, this.config.REALTIME_SLOT_TTL_MS, 0);
    }
    await pipeline.exec();
  }

  async release(slot: ConnectionSlot): Promise<void> {
    await this.redis.releaseSupabaseConnection(...this.keysOf(slot), slot.id);
  }
}
