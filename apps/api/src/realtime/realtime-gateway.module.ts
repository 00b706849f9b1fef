import { Module } from '@nestjs/common';
import { AuditModule } from '#libs/audit';
import { AuthModule } from '#libs/auth';
import { DocumentsModule } from '#libs/documents';
import { OrgConfigModule } from '#libs/org-config';
import { RealtimeModule } from '#libs/realtime';
import { RegistryModule } from '#libs/registry';
import { TasksModule } from '#libs/tasks';
import { TenancyModule } from '../tenancy/tenancy.module.js';
import { EventFanout } from './event-fanout.service.js';
import { OperationalStateTopics } from './operational-state-topics.service.js';
import { RealtimeLimits } from './realtime-limits.service.js';
import { RealtimeGateway } from './realtime.gateway.js';
import { RealtimeTopics } from './realtime-topics.service.js';
import { RowVisibilityModule } from './row-visibility.module.js';
import { SocketCredentials } from './socket-credentials.service.js';
import { SocketSlotsModule } from './socket-slots.module.js';

/** The realtime API over Socket.IO, the delivery of stream events to its sockets, and (through RealtimeModule) the change relay. */
@Module({
  imports: [
    SocketSlotsModule,
    AuthModule,
    RealtimeModule,
    RegistryModule,
    TasksModule,
    OrgConfigModule,
    DocumentsModule,
    AuditModule,
    RowVisibilityModule,
    TenancyModule,
  ],
  providers: [EventFanout, RealtimeGateway, RealtimeLimits, RealtimeTopics, OperationalStateTopics, SocketCredentials],
  exports: [EventFanout],
})
export class RealtimeGatewayModule {}
