import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import type { Namespace, Socket } from 'socket.io';
import { PlatformConfig } from '#libs/config';
import type { PlatformEvent } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { compareStreamIds, OrgEventStream } from '#libs/realtime';
import { RedisConnection } from '#libs/redis';
import type { TopicPlan } from './realtime-topics.service.js';

/** Events read from the streams per round trip. */
const READ_BATCH = 1000;
/** Longest one blocking read waits before looking again (a new stream wakes it at once). */
const BLOCK_MS = 5000;
/** Events read per round trip while replaying one subscription. */
const REPLAY_PAGE = 1000;
/** Pause after a failed read (Redis away) before trying again. */
const READ_RETRY_MS = 500;

/** One client subscription on this process. */
export interface Subscription {
  id: string;
  socket: Socket;
  plan: TopicPlan;
  /** Id of the last stream event this subscription has been brought past (delivered or not matching). */
  lastId: string;
  /** While true, live events wait in `pending` so replayed ones go first, in order. */
  replaying: boolean;
  pending: PlatformEvent[];
  closed: boolean;
}

/** The subscriptions of one stream on this process, and how far this process has read it. */
interface StreamReading {
  cursor: string;
  byTopic: Map<string, Set<Subscription>>;
  broad: Set<Subscription>;
  size: number;
}

/** What a client receives as `event`: the envelope, and which of its subscriptions it answers. */
export type DeliveredEvent = PlatformEvent & { subscriptions: string[] };

/**
 * Delivers stream events to this process's sockets. Each API process reads (XREAD BLOCK,
 * one connection) the streams its own sockets subscribed to and emits only to them, so
 * every client gets each event once, whichever replica it is connected to, with no
 * cross-replica fan-out. A socket whose unsent packets pass REALTIME_SOCKET_BUFFER_MAX
 * gets `resync` and loses its subscriptions, so a slow client never holds others up.
 */
@Injectable()
export class EventFanout implements OnApplicationShutdown {
  private readonly streams = new Map<string, StreamReading>();
  private readonly socketSubscriptions = new WeakMap<Socket, Map<string, Subscription>>();
  private namespace?: Namespace;
  private reader?: Redis;
  private readerId?: number;
  private blocked = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  private closed = false;
  private pendingPeak = 0;

  constructor(
    private readonly stream: OrgEventStream,
    private readonly redis: RedisConnection,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /** Starts delivering to the sockets of `namespace`. */
  attach(namespace: Namespace): void {
    this.namespace = namespace;
    this.reader = this.redis.duplicate();
    this.reader.on('ready', () => (this.readerId = undefined));
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.reader?.disconnect();
    await this.loop;
  }

  /**
   * The most live events one subscription of this process has held back at once while
   * replaying; never above REALTIME_PENDING_EVENTS_MAX.
   */
  get pendingEventsPeak(): number {
    return this.pendingPeak;
  }

  /** The socket's subscriptions by id. */
  subscriptionsOf(socket: Socket): Map<string, Subscription> {
    let subscriptions = this.socketSubscriptions.get(socket);
    if (!subscriptions) this.socketSubscriptions.set(socket, (subscriptions = new Map()));
    return subscriptions;
  }

  /**
   * Registers the subscription, positioned just after `startId`, and replays what the
   * stream holds after it before any live event; call once its ack has been sent.
   */
  add(subscription: Subscription): void {
    const { plan } = subscription;
    let reading = this.streams.get(plan.streamOrg);
    if (!reading) {
      reading = { cursor: subscription.lastId, byTopic: new Map(), broad: new Set(), size: 0 };
      this.streams.set(plan.streamOrg, reading);
      this.interruptRead();
    }
    if (plan.exactTopic) {
      let set = reading.byTopic.get(plan.exactTopic);
      if (!set) reading.byTopic.set(plan.exactTopic, (set = new Set()));
      set.add(subscription);
    } else {
      reading.broad.add(subscription);
    }
    reading.size++;
    this.subscriptionsOf(subscription.socket).set(subscription.id, subscription);
    void this.replay(subscription);
  }

  /** Removes one subscription; false when the socket has none of that id. */
  remove(socket: Socket, subscriptionId: string): boolean {
    const subscription = this.subscriptionsOf(socket).get(subscriptionId);
    if (!subscription) return false;
    this.subscriptionsOf(socket).delete(subscriptionId);
    subscription.closed = true;
    // What a replaying subscription held back goes with it, not when its replay next wakes.
    subscription.pending = [];
    const reading = this.streams.get(subscription.plan.streamOrg);
    if (!reading) return true;
    const { exactTopic } = subscription.plan;
    const removed = exactTopic ? reading.byTopic.get(exactTopic)?.delete(subscription) : reading.broad.delete(subscription);
    if (exactTopic && reading.byTopic.get(exactTopic)?.size === 0) reading.byTopic.delete(exactTopic);
    if (removed && --reading.size === 0) {
      this.streams.delete(subscription.plan.streamOrg);
      this.interruptRead();
    }
    return true;
  }

  /** Drops every subscription of the socket (it left, or must resync). */
  removeAll(socket: Socket): string[] {
    const ids = [...this.subscriptionsOf(socket).keys()];
    for (const id of ids) this.remove(socket, id);
    return ids;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.streams.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const cursors = new Map([...this.streams].map(([org, reading]) => [org, reading.cursor]));
      let batch: Map<string, PlatformEvent[]>;
      try {
        this.readerId ??= (await this.reader!.client('ID')) as number;
        this.blocked = true;
        batch = await this.stream.readLive(this.reader!, cursors, READ_BATCH, BLOCK_MS);
      } catch (error) {
        if (this.closed) return;
        this.logger.warn({ err: error }, 'reading the event streams failed; retrying');
        await delay(READ_RETRY_MS);
        continue;
      } finally {
        this.blocked = false;
      }
      for (const [org, events] of batch) {
        const reading = this.streams.get(org);
        if (!reading) continue;
        for (const event of events) {
          if (compareStreamIds(event.id, reading.cursor) > 0) reading.cursor = event.id;
          this.dispatch(reading, event);
        }
      }
    }
  }

  /** Makes the blocked read return, so the next one covers the changed set of streams. */
  private interruptRead(): void {
    if (this.wake) return this.wake();
    if (this.blocked && this.readerId !== undefined) {
      this.redis.client.client('UNBLOCK', this.readerId).catch(() => undefined);
    }
  }

  private dispatch(reading: StreamReading, event: PlatformEvent): void {
    const targets = new Map<Socket, string[]>();
    const consider = (subscription: Subscription) => {
      if (!subscription.plan.matches(event)) return;
      if (subscription.replaying) {
        // A replay that cannot keep up would pin every live event in memory: at the bound the socket starts over.
        if (subscription.pending.length >= this.config.REALTIME_PENDING_EVENTS_MAX)
          return this.resync(subscription.socket, 'replay_overflow');
        this.pendingPeak = Math.max(this.pendingPeak, subscription.pending.push(event));
        return;
      }
      if (compareStreamIds(event.id, subscription.lastId) <= 0) return;
      subscription.lastId = event.id;
      const ids = targets.get(subscription.socket);
      if (ids) ids.push(subscription.id);
      else targets.set(subscription.socket, [subscription.id]);
    };
    reading.byTopic.get(event.topic)?.forEach(consider);
    reading.broad.forEach(consider);
    if (targets.size > 0) this.deliver(event, targets);
  }

  /** Emits the event once per socket; sockets with the same subscription ids share one encoded packet. */
  private deliver(event: PlatformEvent, targets: Map<Socket, string[]>): void {
    const groups = new Map<string, string[]>();
    for (const [socket, ids] of targets) {
      if (this.isSlow(socket)) continue;
      const key = ids.join('\u0000');
      const sockets = groups.get(key);
      if (sockets) sockets.push(socket.id);
      else groups.set(key, [socket.id]);
    }
    for (const [key, socketIds] of groups) {
      const payload: DeliveredEvent = { ...event, subscriptions: key.split('\u0000') };
      this.namespace!.to(socketIds).emit('event', payload);
    }
  }

  private async replay(subscription: Subscription): Promise<void> {
    const { plan, socket } = subscription;
    try {
      for (;;) {
        const events = await this.stream.readAfter(plan.streamOrg, subscription.lastId, REPLAY_PAGE);
        if (subscription.closed) return;
        for (const event of events) {
          subscription.lastId = event.id;
          if (!plan.matches(event)) continue;
          if (this.isSlow(socket)) return;
          socket.emit('event', { ...event, subscriptions: [subscription.id] } satisfies DeliveredEvent);
        }
        if (events.length < REPLAY_PAGE) break;
      }
    } catch (error) {
      if (subscription.closed) return;
      this.logger.warn({ err: error }, 'replaying a subscription failed; the socket must resync');
      this.resync(socket, 'replay_failed');
      return;
    }
    subscription.replaying = false;
    for (const event of subscription.pending.splice(0)) {
      if (compareStreamIds(event.id, subscription.lastId) <= 0) continue;
      subscription.lastId = event.id;
      if (this.isSlow(socket)) return;
      socket.emit('event', { ...event, subscriptions: [subscription.id] } satisfies DeliveredEvent);
    }
  }

  /** True (after telling it to resync) when the socket has more unsent packets than allowed. */
  private isSlow(socket: Socket): boolean {
    // engine.io keeps the packets it could not write yet in writeBuffer; its type marks it private.
    const unsent = (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
    if (unsent <= this.config.REALTIME_SOCKET_BUFFER_MAX) return false;
    this.resync(socket, 'slow_consumer');
    return true;
  }

  private resync(socket: Socket, reason: string): void {
    const subscriptions = [...this.subscriptionsOf(socket).values()].map(({ id, lastId }) => ({ subscription: id, lastId }));
    this.removeAll(socket);
    this.logger.info({ socket: socket.id, reason, subscriptions: subscriptions.length }, 'realtime client must resync');
    socket.emit('resync', { reason, subscriptions });
  }
}
