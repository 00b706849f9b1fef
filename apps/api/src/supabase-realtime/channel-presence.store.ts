import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { EventType, Topic } from '#libs/contracts';
import { eventJson, LUA_APPEND_EVENT } from '#libs/realtime';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import type { ChannelPresenceData } from './supabase-channel-feed.service.js';

/** Phoenix presence state: metas per presence key. */
export type PresenceState = Record<string, { metas: Record<string, unknown>[] }>;

/**
 * KEYS: presence hash, org stream. ARGV: ref, entry JSON (or '' to untrack), stream max
 * len, event type, topic, at, joins JSON, leaves JSON. Changes the entry and appends its
 * presence diff in one step, so every API process sees state and diffs agree.
 */
const CHANGE_PRESENCE = `${LUA_APPEND_EVENT}
local existed = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
if ARGV[2] == '' then
  if not existed then return 0 end
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
append_event(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], '{"joins":' .. ARGV[7] .. ',"leaves":' .. ARGV[8] .. '}')
return 1`;

/**
 * KEYS: presence hash, org stream. ARGV: now (ms), stream max len, event type, topic, at.
 * Drops the entries whose lease ran out (their API process died) and appends one leave
 * diff for them, in one step: clients that hold them hear they left.
 */
const REAP_PRESENCES = `${LUA_APPEND_EVENT}
local entries = redis.call('HGETALL', KEYS[1])
local leaves = {}
local any = false
for i = 1, #entries, 2 do
  local entry = cjson.decode(entries[i + 1])
  if entry['until'] < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], entries[i])
    leaves[entry.key] = leaves[entry.key] or { metas = {} }
    table.insert(leaves[entry.key].metas, { phx_ref = entries[i] })
    any = true
  end
end
if not any then return 0 end
append_event(KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], cjson.encode({ joins = {}, leaves = leaves }))
return 1`;

interface PresenceEntry {
  key: string;
  meta: Record<string, unknown>;
  until: number;
}

const changePresence = new LuaScript<number>(CHANGE_PRESENCE, 2);
const reapPresences = new LuaScript<number>(REAP_PRESENCES, 2);

/**
 * Presence of Supabase channels, shared by every API process: one Redis hash per org and
 * channel (entries by presence ref, each with a lease its process renews), changed
 * together with the diff it appends to the org stream.
 */
@Injectable()
export class ChannelPresenceStore {
  private readonly redis: Redis;

  constructor(
    connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {
    this.redis = connection.client;
  }

  private key(orgId: string, channel: string): string {
    return this.keys.org(orgId, 'channel-presence', channel);
  }

  /** Tracks (or updates) one presence and appends its join. */
  async track(orgId: string, channel: string, ref: string, key: string, meta: Record<string, unknown>): Promise<void> {
    const entry: PresenceEntry = { key, meta: { ...meta, phx_ref: ref }, until: Date.now() + this.leaseMs };
    const joins: ChannelPresenceData['joins'] = { [key]: { metas: [entry.meta] } };
    await this.change(orgId, channel, ref, eventJson(entry), eventJson(joins), '{}');
  }

  /** Drops one presence (if tracked) and appends its leave. */
  async untrack(orgId: string, channel: string, ref: string, key: string): Promise<void> {
    const leaves: ChannelPresenceData['leaves'] = { [key]: { metas: [{ phx_ref: ref }] } };
    await this.change(orgId, channel, ref, '', '{}', eventJson(leaves));
  }

  /** Keeps this process's presences alive. */
  async renew(presences: { orgId: string; channel: string; ref: string; key: string; meta: Record<string, unknown> }[]): Promise<void> {
    if (presences.length === 0) return;
    const until = Date.now() + this.leaseMs;
    const pipeline = this.redis.pipeline();
    for (const presence of presences) {
      const entry: PresenceEntry = { key: presence.key, meta: { ...presence.meta, phx_ref: presence.ref }, until };
      pipeline.hset(this.key(presence.orgId, presence.channel), presence.ref, eventJson(entry));
    }
    await pipeline.exec();
  }

  /**
   * How long a tracked presence lives without its API process renewing it: the lease of
   * a realtime socket's slot, so a process that died loses its presences as its slots.
   */
  get leaseMs(): number {
    return this.config.REALTIME_SLOT_TTL_MS;
  }

  /** Ends the presences whose process stopped renewing them, with a leave diff. */
  async reap(orgId: string, channel: string): Promise<void> {
    await reapPresences.run(
      this.redis,
      this.key(orgId, channel),
      this.keys.orgEvents(orgId),
      Date.now(),
      this.config.EVENT_STREAM_MAX_LENGTH,
      EventType.channelPresence,
      Topic.channel(channel),
      new Date().toISOString(),
    );
  }

  /** Every live presence of the channel, in presence_state shape. */
  async state(orgId: string, channel: string): Promise<PresenceState> {
    const entries = await this.redis.hgetall(this.key(orgId, channel));
    const state: PresenceState = {};
    const now = Date.now();
    for (const json of Object.values(entries)) {
      const entry = JSON.parse(json) as PresenceEntry;
      if (entry.until < now) continue;
      (state[entry.key] ??= { metas: [] }).metas.push(entry.meta);
    }
    return state;
  }

  private async change(orgId: string, channel: string, ref: string, entry: string, joins: string, leaves: string): Promise<void> {
    await changePresence.run(
      this.redis,
      this.key(orgId, channel),
      this.keys.orgEvents(orgId),
      ref,
      entry,
      this.config.EVENT_STREAM_MAX_LENGTH,
      EventType.channelPresence,
      Topic.channel(channel),
      new Date().toISOString(),
      joins,
      leaves,
    );
  }
}
