import { Module } from '@nestjs/common';
import { SecretsModule } from '#libs/secrets';
import { TasksModule } from '#libs/tasks';
import { WorkersController } from '../workers/workers.controller.js';
import { TaskStatsController } from './task-stats.controller.js';
import { TasksController } from './tasks.controller.js';

@Module({ imports: [TasksModule, SecretsModule], controllers: [TasksController, TaskStatsController, WorkersController] })
export class TasksHttpModule {}
