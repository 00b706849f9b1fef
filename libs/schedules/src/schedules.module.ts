import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { TasksModule } from '#libs/tasks';
import { ScheduleRepository } from './schedule.repository.js';
import { ScheduleService } from './schedule.service.js';
import { ScheduleTimer } from './schedule-timer.js';

/** Recurring tasks: schedules in the org database, their ticks in BullMQ job schedulers. */
@Module({
  imports: [RegistryModule, TasksModule],
  providers: [ScheduleRepository, ScheduleService, ScheduleTimer],
  exports: [ScheduleRepository, ScheduleService, ScheduleTimer],
})
export class SchedulesModule {}
