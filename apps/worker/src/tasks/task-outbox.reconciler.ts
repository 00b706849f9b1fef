import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RedisLease } from '#libs/realtime';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { TaskLifecycle } from '#libs/tasks';
import { TaskHistoryWriter } from './task-history.writer.js';

/**
 * Finishes the task hand-offs a crash interrupted (see docs/architecture.md, "Task
 * outbox"). One worker at a time holds the reconciler lease; every
 * TASK_OUTBOX_RECONCILE_INTERVAL_MS it goes through every org's outboxes: enqueues the
 * run job of a waiting task that has none, removes a cancelled task's job, and writes
 * history left unwritten, each only once the entry is older than TASK_OUTBOX_GRACE_MS.
 */
@Injectable()
export class TaskOutboxReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private readonly lease: RedisLease;

  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly writer: TaskHistoryWriter,
    redis: RedisConnection,
    keys: RedisKeys,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {
    // The lease outlives a few missed rounds, so a busy leader is not deposed by one slow round.
    this.lease = new RedisLease(
      redis.client,
      keys.platform('task-outbox-reconciler'),
      keys.platform('task-outbox-reconciler', 'fence'),
      `worker-${randomUUID()}`,
      config.TASK_OUTBOX_RECONCILE_INTERVAL_MS * 3,
    );
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.round ??= this.reconcileIfElected()
        .then(() => undefined)
        .catch((error: Error) => this.logger.warn({ err: error.message }, 'task outbox reconciliation failed; next round retries'))
        .finally(() => (this.round = undefined));
    }, this.config.TASK_OUTBOX_RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.round;
    await this.lease.release().catch(() => undefined);
  }

  /** One round, if this process holds (or wins) the lease; false when another process is the reconciler. */
  async reconcileIfElected(): Promise<boolean> {
    if (!(this.lease.held ? await this.lease.renew() : await this.lease.acquire())) return false;
    for (const orgId of await this.lifecycle.orgsWithTasks()) await this.lifecycle.reconcile(orgId);
    await this.writer.drainAll();
    return true;
  }
}
