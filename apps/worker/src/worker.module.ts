import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type PlatformConfig } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { RedisModule } from '#libs/redis';

/** The worker: an application context without HTTP; it reaches clients only through Redis. */
@Module({})
export class WorkerModule {
  static forRoot(config: PlatformConfig): DynamicModule {
    return { module: WorkerModule, imports: [ConfigModule.forRoot(config), DatabaseModule, RedisModule] };
  }
}
