import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { TaskCancellations } from './task-cancellations.js';
import { TaskHistoryRepository } from './task-history.repository.js';
import { TaskQueue } from './task-queue.js';
import { TaskStateStore } from './task-state.store.js';
import { TaskService } from './task.service.js';
import { TaskTypeCatalog } from './task-types/task-type-catalog.js';
import { WorkerRegistryStore } from './worker-registry.store.js';

/** The tasks domain: live state in Redis, history in org databases, the queues between api and worker. */
@Module({
  imports: [RegistryModule],
  providers: [TaskCancellations, TaskHistoryRepository, TaskQueue, TaskService, TaskStateStore, TaskTypeCatalog, WorkerRegistryStore],
  exports: [TaskCancellations, TaskHistoryRepository, TaskQueue, TaskService, TaskStateStore, TaskTypeCatalog, WorkerRegistryStore],
})
export class TasksModule {}
