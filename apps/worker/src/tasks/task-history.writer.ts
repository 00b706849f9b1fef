import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import { PersistTaskJob, QueueName, TERMINAL_TASK_STATUSES, validatePayload } from '#libs/contracts';
import { QueueFactory } from '#libs/redis';
import { TaskHistoryRepository, TaskStateStore } from '#libs/tasks';
import { WebhookService } from '#libs/webhooks';

/**
 * Persists finished tasks from the `task-history` queue into their org databases: final
 * state, attempts and logs, by idempotent upserts, so retries (Postgres down, a worker
 * dying mid-write) still leave exactly one history row. Then the org's webhooks are told
 * (queued, never awaited), and only then may the live keys expire.
 */
@Injectable()
export class TaskHistoryWriter implements OnApplicationBootstrap {
  constructor(
    private readonly queues: QueueFactory,
    private readonly store: TaskStateStore,
    private readonly history: TaskHistoryRepository,
    private readonly config: PlatformConfig,
    private readonly webhooks: WebhookService,
  ) {}

  onApplicationBootstrap(): void {
    this.queues.worker<PersistTaskJob>(QueueName.taskHistory, (job) => this.process(job), { concurrency: this.config.HISTORY_CONCURRENCY });
  }

  async process(job: Job<PersistTaskJob>): Promise<void> {
    let payload: PersistTaskJob;
    try {
      payload = validatePayload(PersistTaskJob, job.data);
    } catch (error) {
      throw new UnrecoverableError(`invalid job payload: ${(error as Error).message}`);
    }
    const task = await this.store.get(payload.orgId, payload.taskId);
    // Gone means persisted earlier (keys only expire after that); live means not finished yet.
    if (!task || !TERMINAL_TASK_STATUSES.includes(task.status)) return;
    await this.history.persist(payload.orgId, task, await this.store.allLogs(payload.orgId, payload.taskId));
    await this.webhooks.taskFinished(payload.orgId, task);
    await this.store.expireAfterPersisted(payload.orgId, payload.taskId);
  }
}
