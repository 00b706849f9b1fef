import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { EventStreamTrimmer } from './event-stream.trimmer.js';
import { EventStreamModule } from '#libs/event-stream';
import { RealtimeSnapshotProviders } from './realtime-snapshot-provider.js';
import { ChangeRelaySupervisor } from './relay/change-relay.supervisor.js';
import { RelaySlotsModule } from './relay/relay-slots.js';

/** The per-org event streams and what feeds them besides the task tier: the database change relay. */
@Module({
  imports: [RegistryModule, EventStreamModule, RelaySlotsModule],
  providers: [EventStreamTrimmer, RealtimeSnapshotProviders, ChangeRelaySupervisor],
  exports: [RelaySlotsModule, EventStreamModule, EventStreamTrimmer, RealtimeSnapshotProviders, ChangeRelaySupervisor],
})
export class RealtimeModule {}
