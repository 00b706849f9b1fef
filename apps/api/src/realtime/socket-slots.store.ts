import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import { ADMIT_SOCKET, RELEASE_SOCKET, RENEW_SOCKET } from './socket-slot.scripts.js';

/** One realtime connection's slot: the org and token whose caps it counts against, and its id. */
export interface SocketSlot {
  orgId: string;
  tokenId: string;
  id: string;
}

/** The cap a refused connection hit. */
export type SocketCap = 'REALTIME_SOCKETS_PER_ORG' | 'REALTIME_SOCKETS_PER_TOKEN';

const admitSocket = new LuaScript<string>(ADMIT_SOCKET, 3);
const renewSocket = new LuaScript<number>(RENEW_SOCKET, 3);
const releaseSocket = new LuaScript<unknown>(RELEASE_SOCKET, 3);

/**
 * Realtime connection slots in Redis, for Socket.IO sockets and Supabase Realtime
 * connections alike, so REALTIME_SOCKETS_PER_ORG and REALTIME_SOCKETS_PER_TOKEN count both
 * kinds across API processes: one script per check, each slot leased for
 * REALTIME_SLOT_TTL_MS and renewed by the process holding it, so slots of a killed process
 * free themselves.
 */
@Injectable()
export class SocketSlots {
  private readonly redis: RedisConnection['client'];

  constructor(
    connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {
    this.redis = connection.client;
  }

  /** The org's sockets, the token's sockets and the org's subscription counts, under the org's hash tag. */
  keysOf(slot: Pick<SocketSlot, 'orgId' | 'tokenId'>): [string, string, string] {
    return [this.keys.orgSockets(slot.orgId), this.keys.tokenSockets(slot.orgId, slot.tokenId), this.keys.orgSubscriptions(slot.orgId)];
  }

  /** Takes the slot; undefined when admitted, else the cap that is full. */
  async admit(slot: SocketSlot): Promise<SocketCap | undefined> {
    const answer = await admitSocket.run(
      this.redis,
      ...this.keysOf(slot),
      slot.id,
      this.config.REALTIME_SLOT_TTL_MS,
      this.config.REALTIME_SOCKETS_PER_ORG,
      this.config.REALTIME_SOCKETS_PER_TOKEN,
    );
    return answer === 'ok' ? undefined : (answer as SocketCap);
  }

  async release(slot: SocketSlot): Promise<void> {
    await releaseSocket.run(this.redis, ...this.keysOf(slot), slot.id);
  }

  /** Renews the leases of `held`, recording how many Socket.IO subscriptions each holds now. */
  async renew(held: { slot: SocketSlot; subscriptions: number }[]): Promise<void> {
    // Issued together, they leave in one auto-pipelined write per Redis node.
    await Promise.all(
      held.map(({ slot, subscriptions }) =>
        renewSocket.run(this.redis, ...this.keysOf(slot), slot.id, this.config.REALTIME_SLOT_TTL_MS, subscriptions),
      ),
    );
  }
}
