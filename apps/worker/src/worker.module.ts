import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type PlatformConfig } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { RedisModule } from '#libs/redis';
import { LoggerModule, type Logger } from '#libs/logging';
import { OrgsWorkerModule } from './orgs/orgs-worker.module.js';
import { SchedulesWorkerModule } from './schedules/schedules-worker.module.js';
import { ResourcesWorkerModule } from './resources/resources-worker.module.js';
import { TasksWorkerModule } from './tasks/tasks-worker.module.js';
import { TriggersWorkerModule } from './triggers/triggers-worker.module.js';
import { WebhooksWorkerModule } from './webhooks/webhooks-worker.module.js';

/** The worker: an application context without HTTP; it reaches clients only through Redis. */
@Module({})
export class WorkerModule {
  static forRoot(config: PlatformConfig, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(logger),
        DatabaseModule,
        RedisModule,
        OrgsWorkerModule,
        TasksWorkerModule,
        SchedulesWorkerModule,
        WebhooksWorkerModule,
        TriggersWorkerModule,
        ResourcesWorkerModule,
      ],
    };
  }
}
