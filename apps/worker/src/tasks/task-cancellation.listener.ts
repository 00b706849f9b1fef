import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { closeRedis, RedisConnection } from '#libs/redis';
import { TaskCancellations } from '#libs/tasks';
import { ABORT_REASON } from './task-handler.js';
import { TaskRunner } from './task-runner.js';

/** Listens for cancellations and aborts the task if it runs in this process. */
@Injectable()
export class TaskCancellationListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly cancellations: TaskCancellations,
    private readonly runner: TaskRunner,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, message: string) => {
      const { taskId } = JSON.parse(message) as { taskId: string };
      const running = this.runner.running.get(taskId);
      if (!running) return;
      this.logger.info({ taskId }, 'cancelling task');
      running.controller.abort(ABORT_REASON.cancelled);
    });
    await this.subscriber.subscribe(this.cancellations.channel);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber) await closeRedis(this.subscriber, this.config.CONNECT_TIMEOUT_MS);
  }
}
