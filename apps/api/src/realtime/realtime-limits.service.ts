import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Socket } from 'socket.io';
import type { OrgPrincipal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import { setTimeout as delay } from 'node:timers/promises';
import { BusyLoopShare } from '../tenancy/busy-loop-share.js';
import { OrgWorkQueue } from '../tenancy/org-work-queue.js';
import { EventFanout } from './event-fanout.service.js';
import { FORGET_EXPIRED } from './socket-slot.scripts.js';
import { SocketSlots, type SocketSlot } from './socket-slots.store.js';

/** A realtime cap was hit; `limit` names its setting, in the ack (`limit_exceeded`) or the connect error's `data`. */
export class RealtimeLimitExceeded extends Error {
  constructor(
    readonly limit: string,
    message: string,
  ) {
    super(message);
    this.name = 'RealtimeLimitExceeded';
  }
}

/**
 * KEYS: org sockets, token sockets, org subscriptions. ARGV: slot, the socket's subscriptions with the new one, most per org.
 * Returns 1 when the org's total stays within the cap (and records the socket's count), else 0.
 */
const RESERVE_SUBSCRIPTION = `${FORGET_EXPIRED}
local counts = redis.call('HGETALL', KEYS[3])
local others = 0
for index = 1, #counts, 2 do
  if counts[index] ~= ARGV[1] then others = others + tonumber(counts[index + 1]) end
end
if others + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 1
`;

const reserveSubscription = new LuaScript<number>(RESERVE_SUBSCRIPTION, 3);

/**
 * The realtime caps. Per socket, a subscription slot is reserved synchronously, before
 * the subscribe handler first awaits, so acks not waited for cannot race past
 * REALTIME_SUBSCRIPTIONS_PER_SOCKET. Per org and per token, sockets are counted in Redis
 * by one script each (so the caps hold across API replicas): every socket holds a slot
 * leased for REALTIME_SLOT_TTL_MS and renewed by its process, so slots of a killed
 * process free themselves. Subscriptions per org are summed from the counts each process
 * records for its sockets.
 *
 * Setting a subscription up (reading and sending its snapshot) is the costly part, so
 * subscribes wait their turn in a fair queue per org: REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG
 * of one org in progress per process, started at most REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND
 * over all processes. A flooding org waits on itself (its acks slow down, so a client
 * that waits for them slows down too) instead of filling the event loop ahead of other
 * orgs' work; what may wait is bounded by the socket and subscription caps above.
 */
@Injectable()
export class RealtimeLimits implements OnModuleInit, OnApplicationShutdown {
  private readonly held = new Map<Socket, SocketSlot>();
  /** Places for connections refused for a socket cap to wait for their refusal (holdRefusal): REALTIME_SOCKETS_PER_TOKEN per org. */
  private readonly refusalsHeld: OrgWorkQueue;
  private readonly inFlight = new WeakMap<Socket, number>();
  /** Subscribes of each socket past the org check and not yet registered with the fanout (or failed). */
  private readonly orgCounted = new WeakMap<Socket, number>();
  private readonly redis: RedisConnection['client'];
  private readonly subscribeQueue: OrgWorkQueue;
  private readonly subscribeRate: RateLimiterRedis;
  private renewTimer?: NodeJS.Timeout;

  constructor(
    private readonly config: PlatformConfig,
    keys: RedisKeys,
    private readonly fanout: EventFanout,
    private readonly slots: SocketSlots,
    connection: RedisConnection,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
    private readonly loopShare: BusyLoopShare,
  ) {
    this.redis = connection.client;
    this.subscribeQueue = new OrgWorkQueue(config.REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG);
    this.refusalsHeld = new OrgWorkQueue(config.REALTIME_SOCKETS_PER_TOKEN, 0);
    const points = config.REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND;
    // A used-up second is then known from memory: no Redis call while the org waits for the next.
    this.subscribeRate = new RateLimiterRedis({
      storeClient: connection.client,
      keyPrefix: keys.rateLimit('org-subscribes'),
      points,
      duration: 1,
      inMemoryBlockOnConsumed: points,
      inMemoryBlockDuration: 1,
    });
  }

  onModuleInit(): void {
    this.renewTimer = setInterval(() => void this.renew(), Math.floor(this.config.REALTIME_SLOT_TTL_MS / 3));
    this.renewTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.renewTimer);
    await Promise.allSettled([...this.held.keys()].map((socket) => this.release(socket)));
  }

  /** Takes a slot for the org principal's new socket, or throws RealtimeLimitExceeded naming the full cap. */
  async admit(socket: Socket, principal: OrgPrincipal): Promise<void> {
    const slot = { orgId: principal.orgId, tokenId: principal.tokenId, id: socket.id };
    const full = await this.slots.admit(slot);
    if (full) {
      const max = this.config[full];
      throw new RealtimeLimitExceeded(
        full,
        `${full === 'REALTIME_SOCKETS_PER_ORG' ? 'the organization' : 'this token'} has ${max} realtime sockets open, the most ${full} allows`,
      );
    }
    this.held.set(socket, slot);
  }

  /**
   * Waits REALTIME_CONNECT_REFUSAL_HOLD_MS before a connection of `orgId` refused for a
   * socket cap hears so, or not at all when REALTIME_SOCKETS_PER_TOKEN of the org's
   * refusals already wait in this process: a client reconnecting at once then tries once
   * per hold, not as often as the process can refuse it.
   */
  async holdRefusal(orgId: string): Promise<void> {
    const holdMs = this.config.REALTIME_CONNECT_REFUSAL_HOLD_MS;
    const place = holdMs > 0 ? this.refusalsHeld.turn(orgId) : undefined;
    if (!place) return;
    const release = await place;
    try {
      await delay(holdMs, undefined, { ref: false });
    } finally {
      release();
    }
  }

  /** Gives the socket's slot back (it disconnected). */
  async release(socket: Socket): Promise<void> {
    const slot = this.held.get(socket);
    if (!slot) return;
    this.held.delete(socket);
    await this.slots.release(slot);
  }

  /**
   * Reserves one subscription of the socket at once (no await before the count is taken),
   * or throws RealtimeLimitExceeded. Call the returned function when the subscription is
   * registered with the fanout or has failed.
   */
  reserveSubscription(socket: Socket): () => void {
    const max = this.config.REALTIME_SUBSCRIPTIONS_PER_SOCKET;
    const pending = this.inFlight.get(socket) ?? 0;
    if (this.fanout.subscriptionsOf(socket).size + pending >= max) {
      throw new RealtimeLimitExceeded('REALTIME_SUBSCRIPTIONS_PER_SOCKET', `a socket may hold at most ${max} subscriptions`);
    }
    this.inFlight.set(socket, pending + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlight.set(socket, (this.inFlight.get(socket) ?? 1) - 1);
    };
  }

  /**
   * Waits for the socket's org's turn to set up one more subscription here (one of its
   * REALTIME_SUBSCRIBES_IN_FLIGHT_PER_ORG, within REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND,
   * and within its share of a busy event loop, ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY);
   * call the returned function when it is set up or has failed. The platform admin's
   * sockets do not wait.
   */
  async subscribeTurn(socket: Socket): Promise<() => void> {
    const owner = this.held.get(socket);
    if (!owner) return () => {};
    // Never undefined: what may wait is bounded by the socket and subscription caps instead.
    const end = (await this.subscribeQueue.turn(owner.orgId))!;
    try {
      // A socket that left while its subscribes waited must not spend its org's rate on them.
      while (!socket.disconnected) {
        try {
          await this.subscribeRate.consume(owner.orgId);
          // A subscribe counts towards its org's share of a busy event loop as its HTTP requests do.
          const endLoopTurn = await this.loopShare.turn(owner.orgId);
          return () => {
            endLoopTurn();
            end();
          };
        } catch (refusal) {
          if (!(refusal instanceof RateLimiterRes)) throw refusal;
          // This org's second is used up: its queue waits for the next one; other orgs' subscribes go on meanwhile.
          await delay(Math.max(1, refusal.msBeforeNext));
        }
      }
      return end;
    } catch (error) {
      end();
      throw error;
    }
  }

  /**
   * Checks the org's subscriptions over every socket stay within REALTIME_SUBSCRIPTIONS_PER_ORG
   * with the one being reserved, recording the socket's count; call the returned function
   * once the subscription is registered with the fanout or has failed. A subscribe that
   * fails leaves the recorded count one high until the socket's next subscribe or renewal
   * corrects it.
   */
  async reserveOrgSubscription(socket: Socket): Promise<() => void> {
    const owner = this.held.get(socket);
    if (!owner) return () => {};
    const max = this.config.REALTIME_SUBSCRIPTIONS_PER_ORG;
    // Counted: what the socket holds and has past this check, with this one; not what still waits its turn.
    // The count is taken and raised before the await, so concurrent subscribes of one socket each
    // ask for one more than the one before (checked in order by Redis) and none can slip past the cap.
    const count = this.countOf(socket) + 1;
    this.orgCounted.set(socket, (this.orgCounted.get(socket) ?? 0) + 1);
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.orgCounted.set(socket, (this.orgCounted.get(socket) ?? 1) - 1);
    };
    let admitted: number;
    try {
      admitted = await reserveSubscription.run(this.redis, ...this.slots.keysOf(owner), socket.id, count, max);
    } catch (error) {
      release();
      throw error;
    }
    if (!admitted) {
      release();
      throw new RealtimeLimitExceeded(
        'REALTIME_SUBSCRIPTIONS_PER_ORG',
        `the organization holds ${max} realtime subscriptions, the most REALTIME_SUBSCRIPTIONS_PER_ORG allows`,
      );
    }
    return release;
  }

  /**
   * Charges the socket's org one point of REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND per whole
   * REALTIME_SNAPSHOT_BYTES_PER_SUBSCRIBE_POINT of the snapshot's JSON, beyond the point its
   * turn took: the org's next subscribes wait until its rate has paid for this snapshot,
   * however many seconds that takes. Then throws RealtimeLimitExceeded when the snapshot is
   * larger than REALTIME_SNAPSHOT_MAX_BYTES (it was read and encoded all the same, so it is
   * charged too).
   */
  async chargeSnapshot(socket: Socket, snapshot: unknown): Promise<void> {
    const max = this.config.REALTIME_SNAPSHOT_MAX_BYTES;
    const bytes = Buffer.byteLength(JSON.stringify(snapshot) ?? '');
    const extra = Math.floor(bytes / this.config.REALTIME_SNAPSHOT_BYTES_PER_SUBSCRIBE_POINT);
    const owner = this.held.get(socket);
    if (owner && extra > 0) await this.charge(owner.orgId, extra);
    if (bytes > max) {
      throw new RealtimeLimitExceeded(
        'REALTIME_SNAPSHOT_MAX_BYTES',
        `the snapshot is ${bytes} bytes, more than REALTIME_SNAPSHOT_MAX_BYTES (${max}); subscribe more narrowly (an id or a filter)`,
      );
    }
  }

  /**
   * Takes `points` from the org's subscribe rate even when its second is used up. The part
   * that does not fit in the second is paid at the org's rate after it: the org's window is
   * held closed that much longer, so a debt carries over instead of being forgiven when the
   * second ends.
   */
  private async charge(orgId: string, points: number): Promise<void> {
    const perSecond = this.config.REALTIME_SUBSCRIBES_PER_ORG_PER_SECOND;
    const taken = await this.subscribeRate.penalty(orgId, points);
    const overdrawn = Math.min(points, taken.consumedPoints - perSecond);
    if (overdrawn > 0) await this.subscribeRate.block(orgId, taken.msBeforeNext / 1000 + overdrawn / perSecond);
  }

  /** Renews the lease of every socket of this process, and records how many subscriptions each holds now. */
  private async renew(): Promise<void> {
    const live: { slot: SocketSlot; subscriptions: number }[] = [];
    for (const [socket, slot] of this.held) {
      // A socket that went away without a disconnect handled (it closed during the handshake) gives its slot back here.
      if (socket.disconnected) void this.release(socket);
      else live.push({ slot, subscriptions: this.countOf(socket) });
    }
    try {
      await this.slots.renew(live);
    } catch (error) {
      this.logger.warn({ err: error }, 'renewing realtime socket slots failed; retrying at the next renewal');
    }
  }

  private countOf(socket: Socket): number {
    return this.fanout.subscriptionsOf(socket).size + (this.orgCounted.get(socket) ?? 0);
  }
}
