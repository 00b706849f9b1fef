import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';

/**
 * KEYS: positions of one (org, token, topic). ARGV: field, entry without its time, ttl ms ('' entry deletes).
 * Stamps the entry with Redis' clock, so every process ages entries alike.
 */
const RECORD = `
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) return 0 end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1`;

/**
 * KEYS: positions of one (org, token, topic), the org's realtime connection slots. ARGV: since ms, max age ms.
 * Returns the stream id to replay after, or false when the millisecond is ambiguous (replay it inclusively).
 * Entries: o|slot||t (a channel still open), g|ms|id|t (left gracefully, its last change at ms and its
 * last frame id), a|from|to|t (closed abruptly, changes of from..to delivered, perhaps not received).
 */
const START = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local since = tonumber(ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
local ambiguous = false
local best, bestMs, bestSeq
for i = 1, #entries, 2 do
  local field, value = entries[i], entries[i + 1]
  local kind, a, b, at = string.match(value, '^(%a)|([^|]*)|([^|]*)|(%d+)$')
  if kind == 'o' then
    local lease = redis.call('ZSCORE', KEYS[2], a)
    if lease and tonumber(lease) > now then
      ambiguous = true
    else
      -- Its API process died: whatever it delivered, it delivered before now.
      redis.call('HSET', KEYS[1], field, 'a|0|' .. now .. '|' .. now)
      ambiguous = true
    end
  elseif tonumber(at) + tonumber(ARGV[2]) < now then
    redis.call('HDEL', KEYS[1], field)
  elseif kind == 'a' then
    if tonumber(a) <= since and since <= tonumber(b) then ambiguous = true end
  elseif kind == 'g' and tonumber(a) == since then
    local ms, seq = string.match(b, '^(%d+)-(%d+)$')
    ms, seq = tonumber(ms), tonumber(seq)
    if not best or ms < bestMs or (ms == bestMs and seq < bestSeq) then best, bestMs, bestSeq = b, ms, seq end
  end
end
if ambiguous or not best then return false end
return best`;

const recordReplayPosition = new LuaScript<number>(RECORD, 1);
const replayStart = new LuaScript<string | null>(START, 2);

/** A channel, as its replay position is kept: whose, which topic, which join on which connection. */
export interface PositionedChannel {
  orgId: string;
  tokenId: string;
  topic: string;
  /** Unique across processes: the connection's slot id and the join ref. */
  key: string;
}

/** What a channel delivered: the last frame's stream id, its last change's millisecond and the span of all of them. */
export interface Delivered {
  lastId: string;
  lastChangeMs?: number;
  minChangeMs?: number;
  maxChangeMs?: number;
}

/**
 * Where each channel of one (org, token, topic) left off, so that a rejoin with
 * `replay.since` = the last commit_timestamp its client saw starts exactly after what it got.
 * A millisecond holds many changes, so `since` alone cannot say which of them the client
 * had: a graceful leave (phx_leave answered after every frame before it) records the last
 * frame's stream id; a channel still open or closed abruptly makes the milliseconds it
 * delivered ambiguous, and those replay inclusively (a repeat rather than a loss). Entries
 * live as long as the org stream keeps events (EVENT_STREAM_MAX_AGE_SECONDS).
 */
@Injectable()
export class ReplayPositions {
  private readonly redis: Redis;

  constructor(
    connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {
    this.redis = connection.client;
  }

  private get maxAgeMs(): number {
    return this.config.EVENT_STREAM_MAX_AGE_SECONDS * 1000;
  }

  private keyOf(channel: Omit<PositionedChannel, 'key'>): string {
    return this.keys.org(channel.orgId, 'supabase-replay', channel.tokenId, channel.topic);
  }

  /** Before the join is answered: until it leaves, what the channel delivers is ambiguous. */
  async opened(channel: PositionedChannel, slotId: string): Promise<void> {
    await recordReplayPosition.run(this.redis, this.keyOf(channel), channel.key, `o|${slotId}|`, this.maxAgeMs);
  }

  /** After the channel stopped delivering: exact if `graceful`, else the span it delivered stays ambiguous. */
  async closed(channel: PositionedChannel, delivered: Delivered, graceful: boolean): Promise<void> {
    let entry = '';
    if (graceful && delivered.lastChangeMs !== undefined) entry = `g|${delivered.lastChangeMs}|${delivered.lastId}`;
    else if (!graceful && delivered.minChangeMs !== undefined) entry = `a|${delivered.minChangeMs}|${delivered.maxChangeMs}`;
    await recordReplayPosition.run(this.redis, this.keyOf(channel), channel.key, entry, this.maxAgeMs);
  }

  /** The stream id a rejoin with `since` replays after, or undefined to replay `since`'s millisecond inclusively. */
  async startAfter(channel: Omit<PositionedChannel, 'key'>, since: number): Promise<string | undefined> {
    const start = await replayStart.run(this.redis, this.keyOf(channel), this.keys.orgSockets(channel.orgId), since, this.maxAgeMs);
    return start ?? undefined;
  }
}
