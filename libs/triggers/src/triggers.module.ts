import { Module } from '@nestjs/common';
import { EventStreamModule } from '#libs/event-stream';
import { RelaySlotsModule } from '#libs/realtime';
import { RegistryModule } from '#libs/registry';
import { TasksModule } from '#libs/tasks';
import { TriggerFeed } from './trigger-feed.js';
import { TriggerRepository } from './trigger.repository.js';
import { TriggerService } from './trigger.service.js';

/** Change triggers: definitions and firings in the org database, changes from the org event stream. */
@Module({
  imports: [RelaySlotsModule, RegistryModule, TasksModule, EventStreamModule],
  providers: [TriggerFeed, TriggerRepository, TriggerService],
  exports: [TriggerFeed, TriggerRepository, TriggerService],
})
export class TriggersModule {}
