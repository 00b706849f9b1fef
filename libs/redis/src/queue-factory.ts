import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { closeRedis, RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';

/**
 * BullMQ lock settings under which a dead worker's job is taken over within `takeoverMs`.
 * Its lock runs out at most `lockDuration` after the worker's last renewal, and the next
 * stalled-job check, at most `stalledInterval` later, hands the job on: the two add up to
 * the bound. A quarter for the checks keeps them cheap and leaves the lock renewed (every
 * half lock) often enough to survive a busy event loop.
 */
export function jobLockTiming(takeoverMs: number): { lockDuration: number; stalledInterval: number } {
  const stalledInterval = Math.floor(takeoverMs / 4);
  return { lockDuration: takeoverMs - stalledInterval, stalledInterval };
}

/**
 * Builds BullMQ queues and workers with the platform's key prefix and their own Redis
 * connections, and closes them all (workers first, so running jobs finish) on shutdown.
 */
@Injectable()
export class QueueFactory implements OnApplicationShutdown {
  private readonly queues: Queue[] = [];
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /** A producer for queue `name`. */
  queue<Data>(name: string): Queue<Data> {
    const queue = new Queue<Data>(name, { connection: this.connection(), prefix: this.keys.queuePrefix(name) });
    queue.on('error', (error) => this.logger.warn({ queue: name, err: error.message }, 'queue connection error'));
    this.queues.push(queue as Queue);
    return queue;
  }

  /** A consumer of queue `name`; it starts taking jobs at once. */
  worker<Data>(name: string, processor: Processor<Data>, options: Partial<WorkerOptions> = {}): Worker<Data> {
    const worker = new Worker<Data>(name, processor, {
      connection: this.connection(),
      prefix: this.keys.queuePrefix(name),
      ...jobLockTiming(this.config.QUEUE_LOCK_DURATION_MS),
      ...options,
    });
    worker.on('error', (error) => this.logger.warn({ queue: name, err: error.message }, 'queue worker error'));
    this.workers.push(worker as Worker);
    return worker;
  }

  /** Stops taking jobs and waits for the running ones to finish (a draining worker). Safe to call twice. */
  async closeWorkers(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.closeWorkers();
    await Promise.all(this.queues.map((queue) => queue.close()));
    await Promise.all(this.connections.map((connection) => closeRedis(connection, this.config.CONNECT_TIMEOUT_MS)));
  }

  private connection(): Redis {
    const connection = this.redis.duplicate();
    this.connections.push(connection);
    return connection;
  }
}
