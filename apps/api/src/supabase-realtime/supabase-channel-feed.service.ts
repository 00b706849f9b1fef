import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { PlatformConfig } from '#libs/config';
import { EventType, PLATFORM_OWNED_TABLES, Topic, type PlatformEvent } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { compareStreamIds, OrgEventStream } from '#libs/realtime';
import { RedisConnection } from '#libs/redis';
import { postgresChangeOf, postgresChangesPayload, postgresChangesPayloadJson, type PostgresChange } from './postgres-change.js';
import { rowMatches } from './postgres-changes-filter.js';
import { RowVisibility } from '../realtime/row-visibility.service.js';
import { SupabaseRealtimeMetrics } from '../metrics/supabase-realtime.metrics.js';
import type { JoinedChannel } from './supabase-channel.js';

/** Events read from the streams per round trip. */
const READ_BATCH = 1000;
/** Longest one blocking read waits before looking again (a new stream wakes it at once). */
const BLOCK_MS = 5000;
/** Events read per round trip while replaying one channel. */
const REPLAY_PAGE = 1000;
/** Pause after a failed read (Redis away) before trying again. */
const READ_RETRY_MS = 500;

/** What a broadcast event carries in the org stream. */
export interface ChannelBroadcastData {
  event: string;
  payload: unknown;
  /** The sending channel's key, so `self: false` can leave it out; never sent to clients. */
  sender?: string;
}

/** What a presence event carries: joins and leaves in Phoenix' presence_diff shape. */
export interface ChannelPresenceData {
  joins: Record<string, { metas: Record<string, unknown>[] }>;
  leaves: Record<string, { metas: Record<string, unknown>[] }>;
}

interface OrgReading {
  cursor: string;
  channels: Set<JoinedChannel>;
}

/** A broadcast or presence diff for one channel. */
interface Message {
  event: PlatformEvent;
  channel: JoinedChannel;
  message: () => void;
}

interface Delivery {
  event: PlatformEvent;
  channel: JoinedChannel;
  change: PostgresChange;
  ids: number[];
  visible: boolean;
}

/**
 * Delivers the org event streams to this process's Supabase channels: row changes (WAL
 * relay), the task tier's virtual tables, broadcasts and presence diffs. Like the
 * Socket.IO fan-out it reads, on one blocking connection, only the streams of orgs its own
 * clients joined, so every client gets each event once whichever API process holds it.
 * Row-level security is checked once per batch, table and distinct caller (RowVisibility),
 * never once per subscriber per change.
 */
@Injectable()
export class SupabaseChannelFeed implements OnApplicationShutdown {
  private readonly orgs = new Map<string, OrgReading>();
  private reader?: Redis;
  private readerId?: number;
  private blocked = false;
  private wake?: () => void;
  private loop?: Promise<void>;
  private closed = false;

  constructor(
    private readonly stream: OrgEventStream,
    private readonly redis: RedisConnection,
    private readonly visibility: RowVisibility,
    private readonly config: PlatformConfig,
    private readonly metrics: SupabaseRealtimeMetrics,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.reader?.disconnect();
    await this.loop;
  }

  /** Starts delivering to the channel from just after its `lastId`: first what the stream holds, then live events. */
  add(channel: JoinedChannel): void {
    if (!this.reader) {
      this.reader = this.redis.duplicate();
      this.reader.on('ready', () => (this.readerId = undefined));
      this.loop = this.run();
    }
    let reading = this.orgs.get(channel.orgId);
    if (!reading) {
      reading = { cursor: channel.lastId, channels: new Set() };
      this.orgs.set(channel.orgId, reading);
      this.interruptRead();
    }
    reading.channels.add(channel);
    void this.replay(channel);
  }

  remove(channel: JoinedChannel): void {
    channel.closed = true;
    const reading = this.orgs.get(channel.orgId);
    if (!reading?.channels.delete(channel)) return;
    if (reading.channels.size === 0) {
      this.orgs.delete(channel.orgId);
      this.interruptRead();
    }
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.orgs.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const cursors = new Map([...this.orgs].map(([org, reading]) => [org, reading.cursor]));
      let batch: Map<string, PlatformEvent[]>;
      try {
        this.readerId ??= (await this.reader!.client('ID')) as number;
        this.blocked = true;
        batch = await this.stream.readLive(this.reader!, cursors, READ_BATCH, BLOCK_MS);
      } catch (error) {
        if (this.closed) return;
        this.logger.warn({ err: error }, 'reading the event streams for Supabase channels failed; retrying');
        await delay(READ_RETRY_MS);
        continue;
      } finally {
        this.blocked = false;
      }
      for (const [org, events] of batch) {
        const reading = this.orgs.get(org);
        if (!reading || events.length === 0) continue;
        reading.cursor = events.reduce((last, event) => (compareStreamIds(event.id, last) > 0 ? event.id : last), reading.cursor);
        const live: JoinedChannel[] = [];
        for (const channel of reading.channels) {
          if (!channel.replaying) live.push(channel);
          else if (channel.pending.push(...events) > this.config.REALTIME_PENDING_EVENTS_MAX) channel.overflow('replay_overflow');
        }
        try {
          await this.deliver(events, live, false);
        } catch (error) {
          // Row-level security could not be checked (the org database is away): those channels cannot be kept whole.
          this.logger.warn({ err: error, org }, 'delivering to Supabase channels failed; their clients must rejoin');
          for (const channel of live) channel.overflow('delivery_failed');
        }
      }
    }
  }

  /** Makes the blocked read return, so the next one covers the changed set of streams. */
  private interruptRead(): void {
    if (this.wake) return this.wake();
    if (this.blocked && this.readerId !== undefined) this.redis.client.client('UNBLOCK', this.readerId).catch(() => undefined);
  }

  private async replay(channel: JoinedChannel): Promise<void> {
    let budget = channel.replayLimit ?? Infinity;
    try {
      for (;;) {
        const events = await this.stream.readAfter(channel.orgId, channel.lastId, REPLAY_PAGE);
        if (channel.closed) return;
        // A change committed before `since` but stored just after it was seen before the client left.
        const wanted = channel.replaySince === undefined ? events : events.filter((event) => Date.parse(event.at) >= channel.replaySince!);
        const sent = await this.deliver(wanted, [channel], budget, channel.replaySince !== undefined);
        budget -= sent;
        if (channel.replaySince !== undefined) this.metrics.replayedEvents.inc(sent);
        if (events.length > 0) channel.lastId = events.at(-1)!.id;
        if (events.length < REPLAY_PAGE) break;
      }
    } catch (error) {
      if (channel.closed) return;
      this.logger.warn({ err: error }, 'replaying a Supabase channel failed; its client must rejoin');
      channel.overflow('replay_failed');
      return;
    }
    channel.replaying = false;
    const pending = channel.pending.splice(0).filter((event) => compareStreamIds(event.id, channel.lastId) > 0);
    await this.deliver(pending, [channel], false).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'delivering to a Supabase channel failed; its client must rejoin');
      channel.overflow('delivery_failed');
    });
  }

  /**
   * Sends each event to the channels it concerns, in stream order; returns how many
   * messages went out. `budget` (a replay's limit) caps them, false for none; `historic`
   * marks a replay from `since`, whose broadcasts say so and whose old presence diffs are left out.
   */
  private async deliver(events: PlatformEvent[], channels: JoinedChannel[], budget: number | false, historic = false): Promise<number> {
    if (events.length === 0 || channels.length === 0) return 0;
    const deliveries: (Delivery | Message)[] = [];
    for (const event of events) {
      const change = postgresChangeOf(event);
      for (const channel of channels) {
        if (channel.closed) continue;
        if (change) {
          const ids = matchingBindings(channel, change);
          if (ids.length > 0) deliveries.push({ event, channel, change, ids, visible: change.virtual });
          continue;
        }
        if (event.topic !== Topic.channel(channel.space)) continue;
        if (event.type === EventType.channelBroadcast) {
          const data = event.data as ChannelBroadcastData;
          if (data.sender === channel.key && !channel.broadcastSelf) continue;
          const payload = {
            type: 'broadcast',
            event: data.event,
            payload: data.payload,
            ...(historic ? { meta: { replayed: true, id: event.id } } : {}),
          };
          deliveries.push({
            event,
            channel,
            message: () => channel.send({ join_ref: null, ref: null, topic: channel.topic, event: 'broadcast', payload }),
          });
        } else if (event.type === EventType.channelPresence && !historic) {
          const payload = event.data as ChannelPresenceData;
          deliveries.push({
            event,
            channel,
            message: () =>
              channel.send({ join_ref: null, ref: null, topic: channel.topic, event: 'presence_diff', payload: { ...payload } }),
          });
        }
      }
    }
    await this.checkVisibility(deliveries.filter((delivery): delivery is Delivery => 'change' in delivery && !delivery.visible));
    let sent: number;
    // One encoding of each change per table shape (columns and identity), whatever the number of channels.
    const encoded = new Map<string, string>();
    // A connection's frames of one batch go out in one write, not one each.
    const connections = new Set(deliveries.map((delivery) => delivery.channel.connection));
    connections.forEach((connection) => connection.cork());
    try {
      sent = this.send(deliveries, budget, encoded);
    } finally {
      connections.forEach((connection) => connection.uncork());
    }
    // Events in between concerned none of these channels: they are past them all the same.
    const last = events.at(-1)!.id;
    for (const channel of channels)
      if (!channel.closed && compareStreamIds(last, channel.lastId) > 0 && budget === false) channel.lastId = last;
    return sent;
  }

  private send(deliveries: (Delivery | Message)[], budget: number | false, encoded: Map<string, string>): number {
    let sent = 0;
    for (const delivery of deliveries) {
      const { event, channel } = delivery;
      if (channel.closed || compareStreamIds(event.id, channel.lastId) <= 0) continue;
      if (budget !== false && sent >= budget) break;
      channel.lastId = event.id;
      if ('message' in delivery) delivery.message();
      else if (delivery.visible) {
        const { table } = delivery.change;
        const key = `${event.id}\u0000${channel.shapes.get(table) ?? ''}`;
        let data = encoded.get(key);
        if (data === undefined) {
          const payload = postgresChangesPayload([], delivery.change, channel.columns.get(table) ?? [], channel.identities.get(table));
          encoded.set(key, (data = JSON.stringify(payload.data)));
        }
        channel.sendEncoded(
          { join_ref: channel.joinRef, ref: null, topic: channel.topic, event: 'postgres_changes' },
          postgresChangesPayloadJson(delivery.ids, data),
        );
      } else continue;
      sent++;
    }
    return sent;
  }

  /** One query per table and distinct caller for the whole batch, whatever the number of channels. */
  private async checkVisibility(deliveries: Delivery[]): Promise<void> {
    const groups = new Map<string, Delivery[]>();
    for (const delivery of deliveries) {
      const key = `${delivery.channel.orgId}\u0000${delivery.change.table}\u0000${delivery.channel.claimsKey}`;
      const group = groups.get(key);
      if (group) group.push(delivery);
      else groups.set(key, [delivery]);
    }
    await Promise.all(
      [...groups.values()].map(async (group) => {
        // Channels of one caller share the answer for the same event.
        const byEvent = new Map<string, Delivery[]>();
        for (const delivery of group) {
          const same = byEvent.get(delivery.event.id);
          if (same) same.push(delivery);
          else byEvent.set(delivery.event.id, [delivery]);
        }
        const images = [...byEvent.values()].map(([first]) => first!.change.record ?? first!.change.old_record ?? {});
        const answers = await this.visibility.visible(group[0]!.channel.claims, group[0]!.change.table, images);
        [...byEvent.values()].forEach((same, index) => same.forEach((delivery) => (delivery.visible = answers[index]!)));
      }),
    );
  }
}

/** Ids of the channel's bindings that want this change: table, event type, and filter (a DELETE by its old_record). */
function matchingBindings(channel: JoinedChannel, change: PostgresChange): number[] {
  const ids: number[] = [];
  for (const binding of channel.bindings) {
    if (binding.table !== undefined && binding.table !== change.table) continue;
    // A binding on every table means the org's own: never the task tier's virtual tables or a platform table.
    if (binding.table === undefined && (change.virtual || change.schema !== 'public' || PLATFORM_OWNED_TABLES.has(change.table))) continue;
    if (binding.event !== '*' && binding.event !== change.type) continue;
    if (binding.conditions.length > 0) {
      const row = change.type === 'DELETE' ? change.old_record : change.record;
      if (!row || !rowMatches(binding.conditions, row)) continue;
    }
    ids.push(binding.id);
  }
  return ids;
}
