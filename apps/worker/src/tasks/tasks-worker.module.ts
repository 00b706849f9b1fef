import { Module } from '@nestjs/common';
import { AuditModule } from '#libs/audit';
import { ResourcesModule } from '#libs/resources';
import { SecretsModule } from '#libs/secrets';
import { TasksModule } from '#libs/tasks';
import { WebhooksModule } from '#libs/webhooks';
import { TaskCancellationListener } from './task-cancellation.listener.js';
import { RunningTasks } from './running-tasks.js';
import { TaskHandlers } from './task-handlers.js';
import { TaskHistoryWriter } from './task-history.writer.js';
import { TaskLeases } from './task-leases.js';
import { TaskOutboxReconciler } from './task-outbox.reconciler.js';
import { TaskRunner } from './task-runner.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';
import { WorkerIdentity } from './worker-identity.js';
import { ShellRuntime } from './shell/shell-runtime.js';
import { TaskSecrets } from './shell/task-secrets.js';

@Module({
  imports: [TasksModule, ResourcesModule, WebhooksModule, SecretsModule, AuditModule],
  providers: [
    RunningTasks,
    TaskCancellationListener,
    TaskHandlers,
    TaskHistoryWriter,
    TaskLeases,
    TaskOutboxReconciler,
    TaskRunner,
    WorkerHeartbeat,
    WorkerIdentity,
    ShellRuntime,
    TaskSecrets,
  ],
})
export class TasksWorkerModule {}
