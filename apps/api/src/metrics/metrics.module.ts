import { Module } from '@nestjs/common';
import { HttpRequestMetrics } from './http-request.metrics.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsRegistry } from './metrics-registry.js';
import { RealtimeRelayMetrics } from './realtime-relay.metrics.js';
import { RegistryModule } from '#libs/registry';
import { EventStreamModule } from '#libs/realtime';
import { ResourcesModule } from '#libs/resources';
import { TasksModule } from '#libs/tasks';
import { RealtimeGatewayModule } from '../realtime/realtime-gateway.module.js';
import { TenancyModule } from '../tenancy/tenancy.module.js';
import { PlatformMetrics } from './platform.metrics.js';
import { EventLoopShareMetrics } from './event-loop-share.metrics.js';
import { RealtimeFanoutMetrics } from './realtime-fanout.metrics.js';
import { SupabaseRealtimeMetrics } from './supabase-realtime.metrics.js';

@Module({
  imports: [RegistryModule, EventStreamModule, ResourcesModule, TasksModule, RealtimeGatewayModule, TenancyModule],
  controllers: [MetricsController],
  providers: [
    MetricsRegistry,
    HttpRequestMetrics,
    RealtimeRelayMetrics,
    PlatformMetrics,
    RealtimeFanoutMetrics,
    SupabaseRealtimeMetrics,
    EventLoopShareMetrics,
  ],
  exports: [MetricsRegistry, HttpRequestMetrics, SupabaseRealtimeMetrics],
})
export class MetricsModule {}
