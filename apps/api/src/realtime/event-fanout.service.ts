import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import type { Namespace, Socket } from 'socket.io';
import { PlatformConfig } from '#libs/config';
import type { PlatformEvent } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { compareStreamIds, OrgEventStream, type RowChange } from '#libs/realtime';
import { keySlot, RedisConnection } from '#libs/redis';
import type { TopicPlan } from './realtime-topics.service.js';
import { RowVisibility } from './row-visibility.service.js';

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
  /** Subscriptions of many topics that want one event type (TopicPlan.eventType). */
  byType: Map<string, Set<Subscription>>;
  broad: Set<Subscription>;
  size: number;
  /** Row events waiting for their row-level security check, delivered in stream order one batch after the other. */
  secured?: Promise<void>;
  /** How many events `secured` holds. */
  securedQueued: number;
}

/** Which row events the callers of a batch may see, by `${callerKey}\u0000${eventId}`. */
type RowAnswers = Map<string, boolean>;

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
  private pendingPeak = 0;

  constructor(
    private readonly stream: OrgEventStream,
    private readonly redis: RedisConnection,
    private readonly config: PlatformConfig,
    private readonly visibility: RowVisibility,
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
    await Promise.all([...this.streams.values()].map((reading) => reading.secured));
  }

  /**
   * The most live events one subscription of this process has held back at once while
   * replaying; never above REALTIME_PENDING_EVENTS_MAX.
   */
  get pendingEventsPeak(): number {
    return this.pendingPeak;
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
      reading = { cursor: subscription.lastId, byTopic: new Map(), byType: new Map(), broad: new Set(), size: 0, securedQueued: 0 };
      this.streams.set(plan.streamOrg, reading);
      const reader = this.readerOf(plan.streamOrg);
      reader.orgs.add(plan.streamOrg);
      this.interruptRead(reader);
    }
    const index = indexOf(reading, plan);
    if (index) {
      let set = index.map.get(index.key);
      if (!set) index.map.set(index.key, (set = new Set()));
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
    const index = indexOf(reading, subscription.plan);
    const removed = index ? index.map.get(index.key)?.delete(subscription) : reading.broad.delete(subscription);
    if (index && index.map.get(index.key)?.size === 0) index.map.delete(index.key);
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
        this.deliverSecured(reading, events);
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

  /**
   * Hands the row events that live subscriptions under row-level security want to their
   * check: one query per table and distinct caller for the batch, not per event or
   * subscriber. Batches queue per org, so a slow policy delays only its own org's row
   * events on this process, never other topics or other orgs; past
   * REALTIME_PENDING_EVENTS_MAX queued events those subscriptions' sockets resync.
   * (Replaying subscriptions got these events held back already and check them when their replay ends.)
   */
  private deliverSecured(reading: StreamReading, events: PlatformEvent[]): void {
    const wanted: { event: PlatformEvent; subscriptions: Subscription[] }[] = [];
    for (const event of events) {
      const subscriptions: Subscription[] = [];
      const consider = (subscription: Subscription) => {
        if (subscription.plan.rowSecurity && !subscription.replaying && subscription.plan.matches(event)) subscriptions.push(subscription);
      };
      reading.byTopic.get(event.topic)?.forEach(consider);
      reading.byType.get(event.type)?.forEach(consider);
      reading.broad.forEach(consider);
      if (subscriptions.length > 0) wanted.push({ event, subscriptions });
    }
    if (wanted.length === 0) return;
    const resyncAll = (reason: string) => {
      const sockets = new Set(wanted.flatMap(({ subscriptions }) => subscriptions.filter((s) => !s.closed).map((s) => s.socket)));
      for (const socket of sockets) this.resync(socket, reason);
    };
    if (reading.securedQueued + wanted.length > this.config.REALTIME_PENDING_EVENTS_MAX) return resyncAll('replay_overflow');
    reading.securedQueued += wanted.length;
    const step = async () => {
      let answers: RowAnswers;
      try {
        answers = await this.checkRows(wanted.flatMap(({ event, subscriptions }) => subscriptions.map((s) => [s, event] as const)));
      } catch (error) {
        // Row-level security could not be checked (the org database is away): those subscriptions cannot be kept whole.
        this.logger.warn({ err: error }, 'checking row-level security for live row events failed; the sockets must resync');
        return resyncAll('delivery_failed');
      }
      for (const { event, subscriptions } of wanted) {
        const targets = new Map<Socket, string[]>();
        for (const subscription of subscriptions) {
          if (subscription.closed || !answers.get(`${subscription.plan.rowSecurity!.callerKey}\u0000${event.id}`)) continue;
          if (compareStreamIds(event.id, subscription.lastId) <= 0) continue;
          subscription.lastId = event.id;
          const ids = targets.get(subscription.socket);
          if (ids) ids.push(subscription.id);
          else targets.set(subscription.socket, [subscription.id]);
        }
        if (targets.size > 0) this.deliver(event, targets);
      }
    };
    const next = (reading.secured ?? Promise.resolve())
      .then(step)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'delivering checked row events failed'))
      .finally(() => {
        reading.securedQueued -= wanted.length;
        if (reading.secured === next) reading.secured = undefined;
      });
    reading.secured = next;
  }

  /** Whether each subscription's caller may see each event's row: one query per table and distinct caller. */
  private async checkRows(pairs: (readonly [Subscription, PlatformEvent])[]): Promise<RowAnswers> {
    const groups = new Map<string, { security: NonNullable<TopicPlan['rowSecurity']>; events: Map<string, PlatformEvent> }>();
    for (const [subscription, event] of pairs) {
      const security = subscription.plan.rowSecurity!;
      const key = `${security.table}\u0000${security.callerKey}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { security, events: new Map() }));
      group.events.set(event.id, event);
    }
    const answers: RowAnswers = new Map();
    await Promise.all(
      [...groups.values()].map(async ({ security, events }) => {
        const list = [...events.values()];
        const visible = await this.visibility.visible(security.claims, security.table, list.map(rowImage));
        list.forEach((event, index) => answers.set(`${security.callerKey}\u0000${event.id}`, visible[index]!));
      }),
    );
    return answers;
  }

  /** The events of `events` the subscription wants and, under row-level security, may see, in order. */
  private async wantedBy(subscription: Subscription, events: PlatformEvent[]): Promise<PlatformEvent[]> {
    const matching = events.filter((event) => subscription.plan.matches(event));
    if (!subscription.plan.rowSecurity || matching.length === 0) return matching;
    const answers = await this.checkRows(matching.map((event) => [subscription, event] as const));
    const { callerKey } = subscription.plan.rowSecurity;
    return matching.filter((event) => answers.get(`${callerKey}\u0000${event.id}`));
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
      // Row events under row-level security go out once checked (deliverSecured).
      if (subscription.plan.rowSecurity) return;
      if (compareStreamIds(event.id, subscription.lastId) <= 0) return;
      subscription.lastId = event.id;
      const ids = targets.get(subscription.socket);
      if (ids) ids.push(subscription.id);
      else targets.set(subscription.socket, [subscription.id]);
    };
    reading.byTopic.get(event.topic)?.forEach(consider);
    reading.byType.get(event.type)?.forEach(consider);
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
        const shown = await this.wantedBy(subscription, events);
        if (subscription.closed) return;
        if (!this.emitShown(subscription, events, shown)) return;
        if (events.length < REPLAY_PAGE) break;
      }
      // Live events held back meanwhile go out next, skipping ids already sent; checked like the replay's own.
      for (;;) {
        const held = subscription.pending.splice(0).filter((event) => compareStreamIds(event.id, subscription.lastId) > 0);
        if (held.length === 0) break;
        const shown = await this.wantedBy(subscription, held);
        if (subscription.closed) return;
        if (!this.emitShown(subscription, held, shown)) return;
      }
    } catch (error) {
      if (subscription.closed) return;
      this.logger.warn({ err: error }, 'replaying a subscription failed; the socket must resync');
      this.resync(socket, 'replay_failed');
      return;
    }
    subscription.replaying = false;
  }

  /** Brings the subscription past `events`, emitting those in `shown`; false when its socket had to resync. */
  private emitShown(subscription: Subscription, events: PlatformEvent[], shown: PlatformEvent[]): boolean {
    const emit = new Set(shown);
    for (const event of events) {
      subscription.lastId = event.id;
      if (!emit.has(event)) continue;
      if (this.isSlow(subscription.socket)) return false;
      subscription.socket.emit('event', { ...event, subscriptions: [subscription.id] } satisfies DeliveredEvent);
    }
    return true;
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

/** Where a subscription of this plan is kept in its stream's reading: by its one topic, by its one event type, or (undefined) with the broad ones. */
function indexOf(reading: StreamReading, plan: TopicPlan): { map: Map<string, Set<Subscription>>; key: string } | undefined {
  if (plan.exactTopic) return { map: reading.byTopic, key: plan.exactTopic };
  if (plan.eventType) return { map: reading.byType, key: plan.eventType };
  return undefined;
}

/** The row a change shows: the new one, or for a DELETE the old one (its replica identity's columns). */
function rowImage(event: PlatformEvent): Record<string, unknown> {
  const change = event.data as RowChange;
  return change.record ?? change.old_record ?? {};
}
