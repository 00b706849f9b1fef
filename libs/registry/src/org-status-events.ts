import { Injectable } from '@nestjs/common';
import { EventType, PLATFORM_EVENTS_ORG, Topic } from '#libs/contracts';
import { OrgEventStream } from '#libs/event-stream';
import { publicInstanceView, publicOrgView, type OrgWithInstance } from './org-instance.js';
import { OrgRelayStates } from './org-relay-states.js';

/** Tells the platform admin's realtime subscribers (topic `orgs`) of every change of an org instance or of its relay. */
@Injectable()
export class OrgStatusEvents {
  constructor(
    private readonly events: OrgEventStream,
    private readonly relayStates: OrgRelayStates,
  ) {}

  /** Appends `org.updated` with the org, its instance (never credentials) and its relay's state to the platform's event stream. */
  async publish(found: OrgWithInstance): Promise<void> {
    const { org, instance } = found;
    const realtime = (await this.relayStates.views([found])).get(org.id);
    await this.events.append(PLATFORM_EVENTS_ORG, {
      topic: Topic.org(org.id),
      type: EventType.orgUpdated,
      at: new Date().toISOString(),
      data: { org: publicOrgView(org), instance: publicInstanceView(instance, realtime) },
    });
  }
}
