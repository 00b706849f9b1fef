import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { SchedulesModule } from '#libs/schedules';
import { TasksModule } from '#libs/tasks';
import { ScheduleTickProcessor } from './schedule-tick.processor.js';

@Module({ imports: [RegistryModule, SchedulesModule, TasksModule], providers: [ScheduleTickProcessor] })
export class SchedulesWorkerModule {}
