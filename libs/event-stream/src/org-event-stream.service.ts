import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import type { EventType, PlatformEvent } from '#libs/contracts';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import { compareStreamIds } from './stream-ids.js';

/** An event to append: the envelope without the id and org the stream gives it. */
export interface NewEvent<Data = unknown> {
  topic: string;
  type: EventType;
  at: string;
  data: Data;
}

/** A lease the appender must still hold for its append to be accepted (see `RedisLease`). */
export interface Fence {
  key: string;
  holder: string;
}

/** Shortest wait of one slot's group read on a cluster: shorter would turn waiting into polling. */
const MIN_SLOT_BLOCK_MS = 50;

/** Raw entries as ioredis returns them from XRANGE / XREAD. */
type RawEntry = [id: string, fields: string[]];

/**
 * The one Lua snippet that writes an org event stream. Every script that changes state
 * and must publish it in the same atomic step (tasks, resources, the relays' fenced
 * appends) includes this and calls `append_event`; event types and topics always come in
 * as arguments built from `#libs/contracts`, never as literals inside Lua.
 */
export const LUA_APPEND_EVENT = `
local function append_event(stream, max_len, event_type, topic, at, data)
  return redis.call('XADD', stream, 'MAXLEN', '~', max_len, '*', 'type', event_type, 'topic', topic, 'at', at, 'data', data)
end
`;

/** KEYS: stream. ARGV: max len, then type/topic/at/data quadruples. Returns the last id. */
const APPEND_EVENTS = `${LUA_APPEND_EVENT}
local id
for i = 2, #ARGV, 4 do
  id = append_event(KEYS[1], ARGV[1], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
end
return id`;

/**
 * Appends the events, but only while the lease in KEYS[1] is still held by ARGV[1]: a
 * deposed appender's late writes are refused, atomically with the check. KEYS[3] (the
 * appender's checkpoint) is set to ARGV[3] when given, in the same step.
 */
const APPEND_FENCED = `${LUA_APPEND_EVENT}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED lease lost') end
for i = 4, #ARGV, 4 do
  append_event(KEYS[2], ARGV[2], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
return 1`;

const appendEvents = new LuaScript<string>(APPEND_EVENTS, 1);
const appendFenced = new LuaScript<number>(APPEND_FENCED, 3);

/** JSON of event data; bigint values (int8 columns) become strings instead of throwing. */
export function eventJson(data: unknown): string {
  return JSON.stringify(data, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/**
 * Each org's event stream in Redis: every change a client may watch, in order, with
 * monotonic ids, trimmed by count (`EVENT_STREAM_MAX_LENGTH`) and age
 * (`EVENT_STREAM_MAX_AGE_SECONDS`). Platform-wide events (workers) live in the stream of
 * `PLATFORM_EVENTS_ORG`.
 */
@Injectable()
export class OrgEventStream {
  private readonly redis: Redis;
  /** Which slot's streams the next cluster group read waits on. */
  private groupReadTurn = 0;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {
    this.redis = connection.client;
  }

  /** The Redis key of the org's stream. */
  key(orgId: string): string {
    return this.keys.orgEvents(orgId);
  }

  /** Appends one event; returns its id. */
  async append(orgId: string, event: NewEvent): Promise<string> {
    return this.appendMany(orgId, [event]);
  }

  /** Appends the events in order in one atomic step; returns the last one's id. */
  async appendMany(orgId: string, events: NewEvent[]): Promise<string> {
    return appendEvents.run(this.redis, this.key(orgId), this.config.EVENT_STREAM_MAX_LENGTH, ...eventArgs(events));
  }

  /**
   * Appends the events in one atomic step if `fence` is still held, and records
   * `checkpoint` with them; throws (FENCED) otherwise.
   */
  async appendFenced(orgId: string, events: NewEvent[], fence: Fence, checkpoint?: { key: string; value: string }): Promise<void> {
    await appendFenced.run(
      this.redis,
      fence.key,
      this.key(orgId),
      checkpoint?.key ?? fence.key,
      fence.holder,
      this.config.EVENT_STREAM_MAX_LENGTH,
      checkpoint?.value ?? '',
      ...eventArgs(events),
    );
  }

  /** Up to `count` events after `afterId`, oldest first. */
  async readAfter(orgId: string, afterId: string, count: number): Promise<PlatformEvent[]> {
    const entries = (await this.redis.xrange(this.key(orgId), `(${afterId}`, '+', 'COUNT', count)) as RawEntry[];
    return entries.map((entry) => toEvent(orgId, entry));
  }

  /** How many events the org's stream keeps now. */
  length(orgId: string): Promise<number> {
    return this.redis.xlen(this.key(orgId));
  }

  /** The id of the newest event ever appended (trimmed or not); `0-0` for a stream never written. */
  async lastId(orgId: string): Promise<string> {
    const info = await this.info(orgId);
    return info?.lastGeneratedId ?? '0-0';
  }

  /**
   * Whether events after `since` may have been trimmed, so replaying from it would leave a
   * gap. A stream that never lost an entry has lost nothing after any `since`, including the
   * `0-0` handed out while it was still empty. Otherwise errs on the safe side: a `since`
   * before the oldest kept entry, or before one deleted on its own, counts as expired.
   */
  async sinceExpired(orgId: string, since: string): Promise<boolean> {
    const info = await this.info(orgId);
    if (!info) return false;
    if (compareStreamIds(since, info.lastGeneratedId) >= 0) return false;
    if (info.entriesAdded === info.length) return false;
    if (compareStreamIds(since, info.maxDeletedId) < 0) return true;
    return !info.firstId || compareStreamIds(since, info.firstId) < 0;
  }

  /**
   * Blocks up to `blockMs` for events after the given cursors (org id → last id seen) on
   * `reader`, a connection of its own; returns them by org, oldest first.
   */
  async readLive(reader: Redis, cursors: Map<string, string>, count: number, blockMs: number): Promise<Map<string, PlatformEvent[]>> {
    const orgs = [...cursors.keys()];
    const reply = (await reader.xread(
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      ...orgs.map((orgId) => this.key(orgId)),
      ...orgs.map((orgId) => cursors.get(orgId)!),
    )) as [key: string, entries: RawEntry[]][] | null;
    const byOrg = new Map<string, PlatformEvent[]>();
    for (const [key, entries] of reply ?? []) {
      const orgId = this.keys.orgOfEvents(key)!;
      byOrg.set(
        orgId,
        entries.map((entry) => toEvent(orgId, entry)),
      );
    }
    return byOrg;
  }

  /** Creates consumer group `group` on the org's stream, reading from now on; an existing group is kept. */
  async ensureGroup(orgId: string, group: string): Promise<void> {
    await this.redis.xgroup('CREATE', this.key(orgId), group, '$', 'MKSTREAM').catch((error: Error) => {
      if (!error.message.includes('BUSYGROUP')) throw error;
    });
  }

  /**
   * Up to `count` events per org not yet handed to any consumer of `group`, now handed to
   * `consumer`, waiting up to `blockMs` on `reader` (a connection of its own); by org.
   * On a cluster, whose streams sit in many slots, one read per slot: first without waiting,
   * then, if none had anything, waiting on one slot's streams (a different one each call)
   * for a share of `blockMs`, so a change elsewhere waits at most about that long.
   */
  async readGroup(
    reader: Redis,
    group: string,
    consumer: string,
    orgIds: string[],
    count: number,
    blockMs: number,
  ): Promise<{ orgId: string; events: PlatformEvent[] }[]> {
    const slots = this.connection.slotGroups(orgIds, (orgId) => this.key(orgId));
    if (slots.length <= 1) return this.readGroupOnce(reader, group, consumer, orgIds, count, blockMs);
    const read = await Promise.all(slots.map((orgs) => this.readGroupOnce(reader, group, consumer, orgs, count, undefined)));
    const found = read.flat();
    if (found.length) return found;
    const turn = slots[this.groupReadTurn++ % slots.length]!;
    return this.readGroupOnce(reader, group, consumer, turn, count, Math.max(MIN_SLOT_BLOCK_MS, Math.floor(blockMs / slots.length)));
  }

  private async readGroupOnce(
    reader: Redis,
    group: string,
    consumer: string,
    orgIds: string[],
    count: number,
    blockMs: number | undefined,
  ): Promise<{ orgId: string; events: PlatformEvent[] }[]> {
    if (orgIds.length === 0) return [];
    const streams = orgIds.map((orgId) => this.key(orgId));
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    const reply = (await reader.xreadgroup(
      'GROUP',
      group,
      consumer,
      'COUNT',
      count,
      ...(block as ['BLOCK', number]),
      'STREAMS',
      ...streams,
      ...orgIds.map(() => '>'),
    )) as [key: string, entries: RawEntry[]][] | null;
    return (reply ?? []).map(([key, entries]) => {
      const orgId = orgIds[streams.indexOf(key)]!;
      return { orgId, events: entries.map((entry) => toEvent(orgId, entry)) };
    });
  }

  /** Up to `count` events `consumer` of `group` took and has not acknowledged yet (its own pending entries), oldest first. */
  async readOwnPending(orgId: string, group: string, consumer: string, count: number): Promise<PlatformEvent[]> {
    const reply = (await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', this.key(orgId), '0')) as
      [key: string, entries: (RawEntry | [string, null])[]][] | null;
    return pendingEvents(orgId, reply?.[0]?.[1] ?? []);
  }

  /** Events another consumer of `group` took but never acknowledged for `minIdleMs` (it died): now `consumer`'s. */
  async claimIdle(orgId: string, group: string, consumer: string, minIdleMs: number, count: number): Promise<PlatformEvent[]> {
    const [, entries] = (await this.redis.xautoclaim(this.key(orgId), group, consumer, minIdleMs, '0-0', 'COUNT', count)) as [
      string,
      (RawEntry | null)[],
    ];
    return pendingEvents(orgId, entries);
  }

  /** Marks the events as handled by `group`. */
  async ack(orgId: string, group: string, ids: string[]): Promise<void> {
    if (ids.length) await this.redis.xack(this.key(orgId), group, ...ids);
  }

  /** Drops the org's events older than `maxAgeMs`; returns how many went. */
  async trimOlderThan(orgId: string, maxAgeMs: number): Promise<number> {
    return this.redis.xtrim(this.key(orgId), 'MINID', `${Date.now() - maxAgeMs}-0`);
  }

  /** Ids of every org that has an event stream (including `PLATFORM_EVENTS_ORG`). */
  async *orgsWithStreams(batch: number): AsyncGenerator<string> {
    // SCAN sees one server's keys: on a cluster, every primary is scanned.
    for (const node of this.connection.primaries()) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', this.keys.orgEventsPattern, 'COUNT', batch);
        for (const key of keys) {
          const orgId = this.keys.orgOfEvents(key);
          if (orgId) yield orgId;
        }
        cursor = next;
      } while (cursor !== '0');
    }
  }

  private async info(
    orgId: string,
  ): Promise<{ lastGeneratedId: string; length: number; entriesAdded: number; maxDeletedId: string; firstId?: string } | undefined> {
    let reply: unknown[];
    try {
      reply = (await this.redis.xinfo('STREAM', this.key(orgId))) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return undefined;
      throw error;
    }
    const fields = new Map<string, unknown>();
    for (let i = 0; i < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
    const first = fields.get('first-entry') as RawEntry | null;
    return {
      lastGeneratedId: String(fields.get('last-generated-id')),
      length: Number(fields.get('length')),
      entriesAdded: Number(fields.get('entries-added')),
      maxDeletedId: String(fields.get('max-deleted-entry-id')),
      ...(first ? { firstId: first[0] } : {}),
    };
  }
}

/** Events as the type/topic/at/data quadruples `append_event` callers take as ARGV. */
export function eventArgs(events: NewEvent[]): string[] {
  return events.flatMap((event) => [event.type, event.topic, event.at, eventJson(event.data)]);
}

/** Pending entries as events; entries trimmed since they were handed out come back without fields and are skipped. */
function pendingEvents(orgId: string, entries: (RawEntry | [string, null] | null)[]): PlatformEvent[] {
  return entries.filter((entry): entry is RawEntry => Boolean(entry?.[1])).map((entry) => toEvent(orgId, entry));
}

function toEvent(orgId: string, [id, fields]: RawEntry): PlatformEvent {
  const values: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) values[fields[i]!] = fields[i + 1]!;
  return { id, org: orgId, topic: values.topic!, type: values.type as EventType, at: values.at!, data: JSON.parse(values.data ?? 'null') };
}
