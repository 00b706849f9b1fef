import { Module } from '@nestjs/common';
import { TasksModule } from '#libs/tasks';
import { TriggersModule } from '#libs/triggers';
import { TriggerDispatcher } from './trigger-dispatcher.js';

@Module({ imports: [TriggersModule, TasksModule], providers: [TriggerDispatcher] })
export class TriggersWorkerModule {}
