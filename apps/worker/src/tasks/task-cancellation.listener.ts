import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { TaskCancellationMessage, validatePayload } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { closeRedis, RedisConnection } from '#libs/redis';
import { TaskCancellations } from '#libs/tasks';
import { RunningTasks } from './running-tasks.js';

/** Listens for cancellations and aborts the task if it runs in this process. */
@Injectable()
export class TaskCancellationListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly cancellations: TaskCancellations,
    private readonly running: RunningTasks,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, message: string) => this.handle(message));
    await this.subscriber.subscribe(this.cancellations.channel);
  }

  /** Aborts the named task if it runs here; a message that is not a cancellation is logged and dropped. */
  handle(message: string): void {
    let cancellation: TaskCancellationMessage;
    try {
      cancellation = validatePayload(TaskCancellationMessage, JSON.parse(message));
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'ignored an invalid cancellation message');
      return;
    }
    if (this.running.cancel(cancellation.orgId, cancellation.taskId)) this.logger.info({ taskId: cancellation.taskId }, 'cancelling task');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber) await closeRedis(this.subscriber, this.config.CONNECT_TIMEOUT_MS);
  }
}
