import { Module } from '@nestjs/common';
import { AuthModule } from '#libs/auth';
import { RealtimeModule } from '#libs/realtime';
import { RegistryModule } from '#libs/registry';
import { TasksModule } from '#libs/tasks';
import { EventFanout } from './event-fanout.service.js';
import { RealtimeLimits } from './realtime-limits.service.js';
import { RealtimeGateway } from './realtime.gateway.js';
import { RealtimeTopics } from './realtime-topics.service.js';

/** The realtime API over Socket.IO, the delivery of stream events to its sockets, and (through RealtimeModule) the change relay. */
@Module({
  imports: [AuthModule, RealtimeModule, RegistryModule, TasksModule],
  providers: [EventFanout, RealtimeGateway, RealtimeLimits, RealtimeTopics],
})
export class RealtimeGatewayModule {}
