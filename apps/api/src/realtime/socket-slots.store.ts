import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { ADMIT_SOCKET, RELEASE_SOCKET, RENEW_SOCKET } from './socket-slot.scripts.js';

/** One realtime connection's slot: the org and token whose caps it counts against, and its id. */
export interface SocketSlot {
  orgId: string;
  tokenId: string;
  id: string;
}

/** The cap a refused connection hit. */
export type SocketCap = 'REALTIME_SOCKETS_PER_ORG' | 'REALTIME_SOCKETS_PER_TOKEN';

type SlotCommands = {
  rtAdmitSocket(k1: string, k2: string, k3: string, slot: string, leaseMs: number, orgMax: number, tokenMax: number): Promise<string>;
  rtRenewSocket(k1: string, k2: string, k3: string, slot: string, leaseMs: number, count: number): Promise<number>;
  rtReleaseSocket(k1: string, k2: string, k3: string, slot: string): Promise<unknown>;
};

/**
 * Realtime connection slots in Redis, for Socket.IO sockets and Supabase Realtime
 * connections alike, so REALTIME_SOCKETS_PER_ORG and REALTIME_SOCKETS_PER_TOKEN count both
 * kinds across API processes: one script per check, each slot leased for
 * REALTIME_SLOT_TTL_MS and renewed by the process holding it, so slots of a killed process
 * free themselves.
 */
@Injectable()
export class SocketSlots {
  private readonly redis: RedisConnection['client'] & SlotCommands;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {
    this.redis = connection.client as RedisConnection['client'] & SlotCommands;
    this.redis.defineCommand('rtAdmitSocket', { numberOfKeys: 3, lua: ADMIT_SOCKET });
    this.redis.defineCommand('rtRenewSocket', { numberOfKeys: 3, lua: RENEW_SOCKET });
    this.redis.defineCommand('rtReleaseSocket', { numberOfKeys: 3, lua: RELEASE_SOCKET });
  }

  /** The org's sockets, the token's sockets and the org's subscription counts, under the org's hash tag. */
  keysOf(slot: Pick<SocketSlot, 'orgId' | 'tokenId'>): [string, string, string] {
    return [this.keys.orgSockets(slot.orgId), this.keys.tokenSockets(slot.orgId, slot.tokenId), this.keys.orgSubscriptions(slot.orgId)];
  }

  /** Takes the slot; undefined when admitted, else the cap that is full. */
  async admit(slot: SocketSlot): Promise<SocketCap | undefined> {
    const answer = await this.redis.rtAdmitSocket(
      ...this.keysOf(slot),
      slot.id,
      this.config.REALTIME_SLOT_TTL_MS,
      this.config.REALTIME_SOCKETS_PER_ORG,
      this.config.REALTIME_SOCKETS_PER_TOKEN,
    );
    return answer === 'ok' ? undefined : (answer as SocketCap);
  }

  async release(slot: SocketSlot): Promise<void> {
    await this.redis.rtReleaseSocket(...this.keysOf(slot), slot.id);
  }

  /** Renews the leases of `held`, recording how many Socket.IO subscriptions each holds now. */
  async renew(held: { slot: SocketSlot; subscriptions: number }[]): Promise<void> {
    // One pipeline per hash slot: on a cluster, one pipeline must stay on one slot.
    const pipelines = this.connection
      .slotGroups(held, ({ slot }) => this.keysOf(slot)[0])
      .map((group) => {
        const pipeline = this.redis.pipeline() as unknown as SlotCommands & { exec(): Promise<unknown> };
        for (const { slot, subscriptions } of group) {
          void pipeline.rtRenewSocket(...this.keysOf(slot), slot.id, this.config.REALTIME_SLOT_TTL_MS, subscriptions);
        }
        return pipeline.exec();
      });
    await Promise.all(pipelines);
  }
}
