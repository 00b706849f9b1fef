import { Injectable } from '@nestjs/common';
import type { OrgPrincipal } from '#libs/auth';
import { SocketSlots, type SocketSlot } from '../realtime/socket-slots.store.js';

/** A connection a cap refused; `limit` names the setting. */
export class ConnectionLimitExceeded extends Error {
  constructor(readonly limit: string) {
    super(`too many realtime connections (${limit})`);
    this.name = 'ConnectionLimitExceeded';
  }
}

/** One held connection slot. */
export type ConnectionSlot = SocketSlot;

/**
 * The Supabase endpoint's connection caps: REALTIME_SOCKETS_PER_ORG and
 * REALTIME_SOCKETS_PER_TOKEN, in the same slots as the Socket.IO sockets (SocketSlots),
 * so a cap counts both kinds of connection.
 */
@Injectable()
export class ConnectionSlots {
  constructor(private readonly slots: SocketSlots) {}

  /** Takes a slot for a new connection of `principal`; ConnectionLimitExceeded when a cap is full. */
  async admit(principal: OrgPrincipal, id: string): Promise<ConnectionSlot> {
    const slot = { orgId: principal.orgId, tokenId: principal.tokenId, id };
    const full = await this.slots.admit(slot);
    if (full) throw new ConnectionLimitExceeded(full);
    return slot;
  }

  async renew(slots: ConnectionSlot[]): Promise<void> {
    // No Socket.IO subscriptions: REALTIME_SUBSCRIPTIONS_PER_ORG sums those, not channels.
    await this.slots.renew(slots.map((slot) => ({ slot, subscriptions: 0 })));
  }

  async release(slot: ConnectionSlot): Promise<void> {
    await this.slots.release(slot);
  }
}
