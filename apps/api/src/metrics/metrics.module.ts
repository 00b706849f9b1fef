import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsRegistry } from './metrics-registry.js';
import { RealtimeRelayMetrics } from './realtime-relay.metrics.js';
import { RegistryModule } from '#libs/registry';

@Module({
  imports: [RegistryModule],
  controllers: [MetricsController],
  providers: [MetricsRegistry, RealtimeRelayMetrics],
  exports: [MetricsRegistry],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*path');
  }
}
