import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { EventType, PLATFORM_EVENTS_ORG, Topic } from '#libs/contracts';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { publicInstanceView, publicOrgView, type OrgWithInstance } from './org-instance.js';

/** Tells the platform admin's realtime subscribers (topic `orgs`) of every change of an org instance. */
@Injectable()
export class OrgStatusEvents {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
  ) {}

  /** Appends `org.updated` with the org and its instance (never credentials) to the platform's event stream. */
  async publish({ org, instance }: OrgWithInstance): Promise<void> {
    const data = JSON.stringify({ org: publicOrgView(org), instance: publicInstanceView(instance) });
    await this.redis.client.xadd(
      this.keys.orgEvents(PLATFORM_EVENTS_ORG),
      'MAXLEN',
      '~',
      this.config.EVENT_STREAM_MAX_LENGTH,
      '*',
      'type',
      EventType.orgUpdated,
      'topic',
      Topic.org(org.id),
      'at',
      new Date().toISOString(),
      'data',
      data,
    );
  }
}
