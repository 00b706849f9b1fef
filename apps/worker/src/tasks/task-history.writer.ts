import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { closeRedis, RedisConnection, RedisKeys } from '#libs/redis';
import { TaskLifecycle, TaskMetrics } from '#libs/tasks';
import { WebhookService } from '#libs/webhooks';

/**
 * Writes finished tasks to their org databases in batches: told (pub/sub) that an org has
 * finished tasks (once per batch: a task finishing while others are due is not announced,
 * see `TRANSITION_TASK`), it drains that org's persist outbox through `TaskLifecycle.persistDue`,
 * many tasks per transaction, until nothing is due; the org's webhooks are told after
 * each write. One drain per org at a time and at most HISTORY_CONCURRENCY orgs at once
 * in this process; several workers share the work (a batch taken is hidden from the
 * others). A failed write (its database unreachable) is retried after
 * HISTORY_RETRY_INTERVAL_MS; the reconciler's periodic `drainAll` covers lost messages.
 */
@Injectable()
export class TaskHistoryWriter implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscriber: Redis | undefined;
  private readonly draining = new Map<string, Promise<void>>();
  /** Orgs told of new work while draining or while every slot was busy. */
  private readonly pending = new Set<string>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly metrics: TaskMetrics,
    private readonly webhooks: WebhookService,
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, orgId: string) => this.request(orgId));
    await this.subscriber.subscribe(this.keys.taskPersistChannel);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retries) clearTimeout(timer);
    if (this.subscriber) await closeRedis(this.subscriber, this.config.CONNECT_TIMEOUT_MS);
    await Promise.all(this.draining.values());
  }

  /** Drains every org's due history (the reconciler calls this each period); resolves when this round is done. */
  async drainAll(): Promise<void> {
    for (const orgId of await this.lifecycle.orgsWithTasks()) this.request(orgId);
    await Promise.all(this.draining.values());
  }

  /** Drains the org's due history soon: at once if a slot is free, else when one frees up. */
  request(orgId: string): void {
    if (this.stopped) return;
    if (this.draining.has(orgId) || this.draining.size >= this.config.HISTORY_CONCURRENCY) {
      this.pending.add(orgId);
      return;
    }
    const drain = this.drain(orgId).finally(() => {
      this.draining.delete(orgId);
      const next = [...this.pending].find((candidate) => !this.draining.has(candidate));
      if (next) {
        this.pending.delete(next);
        this.request(next);
      }
    });
    this.draining.set(orgId, drain);
  }

  private async drain(orgId: string): Promise<void> {
    try {
      do {
        this.pending.delete(orgId);
        while (
          (await this.lifecycle.persistDue(orgId, (batch) => {
            const tasks = batch.map(({ task }) => task);
            this.metrics.finished(tasks);
            return this.webhooks.tasksFinished(orgId, tasks);
          })) > 0
        );
      } while (this.pending.has(orgId) && !this.stopped);
    } catch (error) {
      this.logger.warn({ orgId, err: (error as Error).message }, 'could not write task history; retrying');
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        this.request(orgId);
      }, this.config.HISTORY_RETRY_INTERVAL_MS);
      this.retries.add(timer);
    }
  }
}
