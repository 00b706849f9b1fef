import { Module, type DynamicModule } from '@nestjs/common';
import { AuthModule } from '#libs/auth';
import { ConfigModule, type PlatformConfig } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { RedisModule } from '#libs/redis';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';

@Module({})
export class ApiModule {
  static forRoot(config: PlatformConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, RedisModule, AuthModule, HealthModule, MetricsModule],
    };
  }
}
