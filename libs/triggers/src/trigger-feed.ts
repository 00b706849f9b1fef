import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { PlatformEvent } from '#libs/contracts';
import { OrgEventStream } from '#libs/event-stream';
import { RedisConnection, RedisKeys } from '#libs/redis';

/** Name of the consumer group through which workers read org event streams for triggers. */
export const TRIGGER_CONSUMER_GROUP = 'triggers';

/**
 * The trigger side of the org event streams: which orgs have triggers (a Redis set) and
 * a consumer group on each such org's stream (read through `OrgEventStream`), so every
 * change is handed to one worker and acknowledged only once its tasks exist.
 */
@Injectable()
export class TriggerFeed {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly stream: OrgEventStream,
  ) {}

  private get orgsKey(): string {
    return this.keys.platform('trigger-orgs');
  }

  /** Starts feeding the org's changes to trigger workers, from now on. */
  async watch(orgId: string): Promise<void> {
    await this.redis.client.sadd(this.orgsKey, orgId);
    await this.stream.ensureGroup(orgId, TRIGGER_CONSUMER_GROUP);
  }

  async watchedOrgs(): Promise<string[]> {
    return this.redis.client.smembers(this.orgsKey);
  }

  /** Up to `count` new changes per org for `consumer`, waiting up to `blockMs` on a connection of its own. */
  read(
    connection: Redis,
    consumer: string,
    orgIds: string[],
    count: number,
    blockMs: number,
  ): Promise<{ orgId: string; events: PlatformEvent[] }[]> {
    return this.stream.readGroup(connection, TRIGGER_CONSUMER_GROUP, consumer, orgIds, count, blockMs);
  }

  /** Changes `consumer` itself took and has not acknowledged (its handling failed): to try again. */
  ownPending(orgId: string, consumer: string, count: number): Promise<PlatformEvent[]> {
    return this.stream.readOwnPending(orgId, TRIGGER_CONSUMER_GROUP, consumer, count);
  }

  /** Changes another consumer took but never acknowledged for `minIdleMs` (it died): now this consumer's. */
  reclaim(orgId: string, consumer: string, minIdleMs: number, count: number): Promise<PlatformEvent[]> {
    return this.stream.claimIdle(orgId, TRIGGER_CONSUMER_GROUP, consumer, minIdleMs, count);
  }

  async ack(orgId: string, ids: string[]): Promise<void> {
    await this.stream.ack(orgId, TRIGGER_CONSUMER_GROUP, ids);
  }
}
