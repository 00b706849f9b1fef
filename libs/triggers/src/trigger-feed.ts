import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisConnection, RedisKeys } from '#libs/redis';

/** Name of the consumer group through which workers read org event streams for triggers. */
export const TRIGGER_CONSUMER_GROUP = 'triggers';

/** A stream entry as XREADGROUP gives it: id and flat field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/**
 * The trigger side of the org event streams: which orgs have triggers (a Redis set) and
 * a consumer group on each such org's stream, so every change is handed to one worker
 * and acknowledged only once its tasks exist.
 */
@Injectable()
export class TriggerFeed {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
  ) {}

  private get orgsKey(): string {
    return this.keys.platform('trigger-orgs');
  }

  /** Starts feeding the org's changes to trigger workers, from now on. */
  async watch(orgId: string): Promise<void> {
    await this.redis.client.sadd(this.orgsKey, orgId);
    await this.redis.client.xgroup('CREATE', this.keys.orgEvents(orgId), TRIGGER_CONSUMER_GROUP, '$', 'MKSTREAM').catch((error: Error) => {
      if (!error.message.includes('BUSYGROUP')) throw error;
    });
  }

  async watchedOrgs(): Promise<string[]> {
    return this.redis.client.smembers(this.orgsKey);
  }

  /** Up to `count` new changes per org for `consumer`, waiting up to `blockMs` on a connection of its own. */
  async read(
    connection: Redis,
    consumer: string,
    orgIds: string[],
    count: number,
    blockMs: number,
  ): Promise<{ orgId: string; entries: StreamEntry[] }[]> {
    if (orgIds.length === 0) return [];
    const streams = orgIds.map((orgId) => this.keys.orgEvents(orgId));
    const answer = (await connection.xreadgroup(
      'GROUP',
      TRIGGER_CONSUMER_GROUP,
      consumer,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      ...streams,
      ...orgIds.map(() => '>'),
    )) as [string, StreamEntry[]][] | null;
    return (answer ?? []).map(([stream, entries]) => ({ orgId: orgIds[streams.indexOf(stream)]!, entries }));
  }

  /** Changes another consumer took but never acknowledged for `minIdleMs` (it died): now this consumer's. */
  async reclaim(orgId: string, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
    const [, entries] = (await this.redis.client.xautoclaim(
      this.keys.orgEvents(orgId),
      TRIGGER_CONSUMER_GROUP,
      consumer,
      minIdleMs,
      '0-0',
      'COUNT',
      count,
    )) as [string, StreamEntry[]];
    return entries.filter((entry) => entry && entry[1]);
  }

  async ack(orgId: string, ids: string[]): Promise<void> {
    if (ids.length) await this.redis.client.xack(this.keys.orgEvents(orgId), TRIGGER_CONSUMER_GROUP, ...ids);
  }
}
