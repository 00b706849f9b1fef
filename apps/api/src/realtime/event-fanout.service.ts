import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import type { Namespace, Socket } from 'socket.io';
import { PlatformConfig } from '#libs/config';
import type { PlatformEvent } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { compareStreamIds, OrgEventStream } from '#libs/realtime';
import { keySlot, RedisConnection } from '#libs/redis';
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

/**
 * One blocking reader: a connection reading a set of streams with one XREAD. A standalone
 * Redis has one for every stream; on a cluster, where one XREAD sees only one hash slot,
 * each slot with subscribed streams has its own, on a connection to the primary serving it.
 */
interface StreamReader {
  orgs: Set<string>;
  connection?: Redis;
  /** The connection CLIENT UNBLOCK goes through. */
  control?: Redis;
  connectionId?: number;
  blocked: boolean;
  wake?: () => void;
  loop?: Promise<void>;
  closed: boolean;
}

/** What a client receives as `event`: the envelope, and which of its subscriptions it answers. */
export type DeliveredEvent = PlatformEvent & { subscriptions: string[] };

/**
 * Delivers stream events to this process's sockets. Each API process reads (XREAD BLOCK,
 * one connection; on a cluster one per hash slot) the streams its own sockets subscribed to and emits only to them, so
 * every client gets each event once, whichever replica it is connected to, with no
 * cross-replica fan-out. A socket whose unsent packets pass REALTIME_SOCKET_BUFFER_MAX
 * gets `resync` and loses its subscriptions, so a slow client never holds others up.
 */
@Injectable()
export class EventFanout implements OnApplicationShutdown {
  private readonly streams = new Map<string, StreamReading>();
  private readonly socketSubscriptions = new WeakMap<Socket, Map<string, Subscription>>();
  /** Readers by slot (`all` off a cluster). */
  private readonly readers = new Map<string, StreamReader>();
  private namespace?: Namespace;
  private closed = false;

  constructor(
    private readonly stream: OrgEventStream,
    private readonly redis: RedisConnection,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /** Starts delivering to the sockets of `namespace`. */
  attach(namespace: Namespace): void {
    this.namespace = namespace;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const readers = [...this.readers.values()];
    for (const reader of readers) this.stopReader(reader);
    await Promise.all(readers.map((reader) => reader.loop));
  }

  /**
   * This process's realtime load, for /metrics: connected sockets, subscriptions, streams
   * read, blocking readers (one per slot on a cluster), and per stream how far (ms of
   * stream time) the newest event is ahead of what the fan-out has read.
   */
  async load(): Promise<{ sockets: number; subscriptions: number; streams: number; readers: number; lagMs: Map<string, number> }> {
    let subscriptions = 0;
    for (const reading of this.streams.values()) subscriptions += reading.size;
    const lagMs = new Map<string, number>();
    await Promise.all(
      [...this.streams].map(async ([org, reading]) => {
        const last = await this.stream.lastId(org);
        const behind = compareStreamIds(last, reading.cursor) > 0 ? Number(last.split('-')[0]) - Number(reading.cursor.split('-')[0]) : 0;
        lagMs.set(org, Math.max(0, behind));
      }),
    );
    return { sockets: this.namespace?.sockets.size ?? 0, subscriptions, streams: this.streams.size, readers: this.readers.size, lagMs };
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
      const reader = this.readerOf(plan.streamOrg);
      reader.orgs.add(plan.streamOrg);
      this.interruptRead(reader);
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
    const reading = this.streams.get(subscription.plan.streamOrg);
    if (!reading) return true;
    const { exactTopic } = subscription.plan;
    const removed = exactTopic ? reading.byTopic.get(exactTopic)?.delete(subscription) : reading.broad.delete(subscription);
    if (exactTopic && reading.byTopic.get(exactTopic)?.size === 0) reading.byTopic.delete(exactTopic);
    if (removed && --reading.size === 0) {
      this.streams.delete(subscription.plan.streamOrg);
      const reader = this.readers.get(this.readerKey(subscription.plan.streamOrg));
      reader?.orgs.delete(subscription.plan.streamOrg);
      // A slot's reader goes with its last stream; the standalone one waits for the next.
      if (reader && reader.orgs.size === 0 && this.redis.cluster) this.stopReader(reader);
      else if (reader) this.interruptRead(reader);
    }
    return true;
  }

  /** Drops every subscription of the socket (it left, or must resync). */
  removeAll(socket: Socket): string[] {
    const ids = [...this.subscriptionsOf(socket).keys()];
    for (const id of ids) this.remove(socket, id);
    return ids;
  }

  private readerKey(orgId: string): string {
    return this.redis.cluster ? `slot:${keySlot(this.stream.key(orgId))}` : 'all';
  }

  /** The reader of the org's stream, started if there is none yet. */
  private readerOf(orgId: string): StreamReader {
    const key = this.readerKey(orgId);
    let reader = this.readers.get(key);
    if (!reader) {
      reader = { orgs: new Set(), blocked: false, closed: false };
      this.readers.set(key, reader);
      reader.loop = this.run(reader, orgId);
    }
    return reader;
  }

  private stopReader(reader: StreamReader): void {
    reader.closed = true;
    for (const [key, candidate] of this.readers) if (candidate === reader) this.readers.delete(key);
    reader.wake?.();
    reader.connection?.disconnect();
  }

  private async run(reader: StreamReader, anyOrg: string): Promise<void> {
    while (!this.closed && !reader.closed) {
      if (reader.orgs.size === 0) {
        await new Promise<void>((resolve) => (reader.wake = resolve));
        reader.wake = undefined;
        continue;
      }
      const cursors = new Map(
        [...reader.orgs].flatMap((org) => {
          const reading = this.streams.get(org);
          return reading ? [[org, reading.cursor] as const] : [];
        }),
      );
      let batch: Map<string, PlatformEvent[]>;
      try {
        if (!reader.connection) {
          const { connection, control } = await this.redis.nodeConnection(this.stream.key(anyOrg));
          if (reader.closed) {
            connection.disconnect();
            return;
          }
          reader.connection = connection;
          reader.control = control;
          connection.on('ready', () => (reader.connectionId = undefined));
        }
        reader.connectionId ??= (await reader.connection.client('ID')) as number;
        reader.blocked = true;
        batch = await this.stream.readLive(reader.connection, cursors, READ_BATCH, BLOCK_MS);
      } catch (error) {
        if (this.closed || reader.closed) return;
        this.logger.warn({ err: error }, 'reading the event streams failed; retrying');
        if (this.redis.cluster) {
          // The primary failed over or the slot moved: ask the cluster again where it lives now.
          reader.connection?.disconnect();
          reader.connection = reader.control = reader.connectionId = undefined;
          await this.redis.refreshTopology().catch(() => undefined);
        }
        await delay(READ_RETRY_MS);
        continue;
      } finally {
        reader.blocked = false;
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

  /** Makes the reader's blocked read return, so the next one covers its changed set of streams. */
  private interruptRead(reader: StreamReader): void {
    if (reader.wake) return reader.wake();
    if (reader.blocked && reader.connectionId !== undefined) {
      reader.control?.client('UNBLOCK', reader.connectionId).catch(() => undefined);
    }
  }

  private dispatch(reading: StreamReading, event: PlatformEvent): void {
    const targets = new Map<Socket, string[]>();
    const consider = (subscription: Subscription) => {
      if (!subscription.plan.matches(event)) return;
      if (subscription.replaying) {
        // A replay that cannot keep up would pin every live event in memory: past the bound the socket starts over.
        if (subscription.pending.push(event) > this.config.REALTIME_PENDING_EVENTS_MAX) this.resync(subscription.socket, 'replay_overflow');
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
