import { Module } from '@nestjs/common';
import { EventStreamModule } from '#libs/event-stream';
import { RegistryModule } from '#libs/registry';
import { FaultPoints } from './fault-points.js';
import { TaskCancellations } from './task-cancellations.js';
import { TaskHistoryRepository } from './task-history.repository.js';
import { TaskLifecycle } from './task-lifecycle.js';
import { TaskMetrics } from './task-metrics.js';
import { TaskQueue } from './task-queue.js';
import { TaskStateStore } from './task-state.store.js';
import { TaskService } from './task.service.js';
import { TaskTypeCatalog } from './task-types/task-type-catalog.js';
import { WorkerRegistryStore } from './worker-registry.store.js';

/**
 * The tasks domain: live state in Redis, history in org databases, the queues between
 * api and worker. The state store and queues stay inside: other modules change tasks only
 * through `TaskLifecycle` and read them through `TaskService`.
 */
@Module({
  imports: [RegistryModule, EventStreamModule],
  providers: [
    FaultPoints,
    TaskCancellations,
    TaskHistoryRepository,
    TaskLifecycle,
    TaskMetrics,
    TaskQueue,
    TaskService,
    TaskStateStore,
    TaskTypeCatalog,
    WorkerRegistryStore,
  ],
  exports: [TaskCancellations, TaskHistoryRepository, TaskLifecycle, TaskMetrics, TaskService, TaskTypeCatalog, WorkerRegistryStore],
})
export class TasksModule {}
