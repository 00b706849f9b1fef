import { Module } from '@nestjs/common';
import { SecretsModule } from '#libs/secrets';
import { TasksModule } from '#libs/tasks';
import { WorkersController } from '../workers/workers.controller.js';
import { TasksController } from './tasks.controller.js';

@Module({ imports: [TasksModule, SecretsModule], controllers: [TasksController, WorkersController] })
export class TasksHttpModule {}
