import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { EventType, PLATFORM_EVENTS_ORG, Topic } from '#libs/contracts';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { publicInstanceView, publicOrgView, type OrgWithInstance } from './org-instance.js';
import { OrgRelayStates } from './org-relay-states.js';

/** Tells the platform admin's realtime subscribers (topic `orgs`) of every change of an org instance or of its relay. */
@Injectable()
export class OrgStatusEvents {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
    private readonly relayStates: OrgRelayStates,
  ) {}

  /** Appends `org.updated` with the org, its instance (never credentials) and its relay's state to the platform's event stream. */
  async publish(found: OrgWithInstance): Promise<void> {
    const { org, instance } = found;
    const realtime = (await this.relayStates.views([found])).get(org.id);
    const data = JSON.stringify({ org: publicOrgView(org), instance: publicInstanceView(instance, realtime) });
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
