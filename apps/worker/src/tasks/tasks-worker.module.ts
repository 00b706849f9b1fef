import { Module } from '@nestjs/common';
import { TasksModule } from '#libs/tasks';
import { WebhooksModule } from '#libs/webhooks';
import { TaskCancellationListener } from './task-cancellation.listener.js';
import { TaskHandlers } from './task-handlers.js';
import { TaskHistoryWriter } from './task-history.writer.js';
import { TaskRunner } from './task-runner.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';
import { WorkerIdentity } from './worker-identity.js';

@Module({
  imports: [TasksModule, WebhooksModule],
  providers: [TaskCancellationListener, TaskHandlers, TaskHistoryWriter, TaskRunner, WorkerHeartbeat, WorkerIdentity],
})
export class TasksWorkerModule {}
