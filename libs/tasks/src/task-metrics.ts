import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import { TASK_CLASSES, taskQueueName, type TaskClass, type TaskView } from '#libs/contracts';
import { QueueFactory, RedisConnection, RedisKeys } from '#libs/redis';
import { TaskStateStore } from './task-state.store.js';

/** How often each process hands its task counters to the API processes that serve /metrics. */
export const TASK_METRICS_PUBLISH_MS = 5000;
/** A process whose snapshot is older than this many publish periods has stopped: its counts leave the sum. */
const STALE_AFTER_PERIODS = 3;
/** Waiting jobs looked at per class for the oldest one's age: bounded, so a deep queue costs a scrape little. */
const OLDEST_SAMPLE = 200;
/** Task run times worth telling apart: from a no-op to a long build. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Counters of the task tier: tasks created (by class), finished (by class and status) and
 * how long they ran (by type). Tasks are created and finished in API and worker processes
 * alike, and a worker serves no HTTP, so every process publishes its counts to Redis every
 * TASK_METRICS_PUBLISH_MS; /metrics on any API process adds up the live ones.
 */
@Injectable()
export class TaskMetrics implements OnModuleInit, OnApplicationShutdown {
  private readonly registry = new Registry();
  private readonly id = randomBytes(8).toString('hex');
  private timer?: NodeJS.Timeout;
  private queues?: Map<TaskClass, Queue>;
  private readonly createdTotal = new Counter({
    name: 'platform_tasks_created_total',
    help: 'Tasks created, by class.',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });
  private readonly finishedTotal = new Counter({
    name: 'platform_tasks_finished_total',
    help: 'Tasks that reached a final status and were written to history, by class and status.',
    labelNames: ['class', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'platform_task_duration_seconds',
    help: 'Time from a task’s first start to its finish, by type.',
    labelNames: ['type'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly queueFactory: QueueFactory,
    private readonly store: TaskStateStore,
  ) {}

  onModuleInit(): void {
    // Skipped while Redis is away, so snapshots do not pile up in the offline queue.
    this.timer = setInterval(() => {
      if (this.redis.client.status === 'ready') void this.publish().catch(() => undefined);
    }, TASK_METRICS_PUBLISH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // A last snapshot only if Redis answers now: shutdown must not wait for a Redis that is away.
    if (this.redis.client.status === 'ready') await this.publish().catch(() => undefined);
  }

  /** A task was created. */
  created(taskClass: TaskClass): void {
    this.createdTotal.inc({ class: taskClass });
  }

  /** Tasks are final and in their history. */
  finished(tasks: TaskView[]): void {
    for (const task of tasks) {
      this.finishedTotal.inc({ class: task.class, status: task.status });
      if (task.startedAt && task.finishedAt) {
        this.duration.observe({ type: task.type }, Math.max(0, Date.parse(task.finishedAt) - Date.parse(task.startedAt)) / 1000);
      }
    }
  }

  /** Hands this process's counts to the API processes now. */
  async publish(): Promise<void> {
    const snapshot = JSON.stringify({ at: Date.now(), metrics: await this.registry.getMetricsAsJSON() });
    await this.redis.client.hset(this.key, this.id, snapshot);
  }

  /** The counts of every live process, added up (a registry to merge into the one /metrics serves). */
  async aggregate(): Promise<Registry> {
    // With Redis away, this process's own counts are all there is to serve.
    if (this.redis.client.status !== 'ready') return AggregatorRegistry.aggregate([await this.registry.getMetricsAsJSON()]);
    const stored = await this.redis.client.hgetall(this.key);
    const oldest = Date.now() - STALE_AFTER_PERIODS * TASK_METRICS_PUBLISH_MS;
    // This process's own counts are read fresh, not from its last snapshot.
    const live: object[] = [await this.registry.getMetricsAsJSON()];
    const stale: string[] = [];
    for (const [id, json] of Object.entries(stored)) {
      if (id === this.id) continue;
      const { at, metrics } = JSON.parse(json) as { at: number; metrics: object[] };
      if (at >= oldest) live.push(metrics);
      else stale.push(id);
    }
    if (stale.length) await this.redis.client.hdel(this.key, ...stale);
    return AggregatorRegistry.aggregate(live);
  }

  /**
   * Run jobs per class now: waiting (prioritized included), delayed, active, and the age of
   * the oldest waiting one among the first OLDEST_SAMPLE of each waiting list.
   */
  async queueLoad(): Promise<{ taskClass: TaskClass; waiting: number; delayed: number; active: number; oldestWaitingMs: number }[]> {
    this.queues ??= new Map(TASK_CLASSES.map((taskClass) => [taskClass, this.queueFactory.queue(taskQueueName(taskClass))]));
    return Promise.all(
      [...this.queues].map(async ([taskClass, queue]) => {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
        const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
        const sample = waiting ? await queue.getJobs(['waiting', 'prioritized'], 0, OLDEST_SAMPLE - 1, true) : [];
        const oldest = Math.min(...sample.filter(Boolean).map((job) => job.timestamp));
        return {
          taskClass,
          waiting,
          delayed: counts.delayed ?? 0,
          active: counts.active ?? 0,
          oldestWaitingMs: Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) : 0,
        };
      }),
    );
  }

  /** Final tasks not yet written to their history (the persist outboxes), and how long the oldest has been due. */
  async persistLoad(): Promise<{ backlog: number; oldestDueMs: number }> {
    const now = Date.now();
    let backlog = 0;
    let oldestDueMs = 0;
    for (const orgId of await this.store.orgsWithTasks()) {
      const { size, oldestDue } = await this.store.outboxLoad(orgId, 'persist');
      backlog += size;
      if (oldestDue !== undefined) oldestDueMs = Math.max(oldestDueMs, now - oldestDue);
    }
    return { backlog, oldestDueMs };
  }

  private get key(): string {
    return this.keys.platform('metrics', 'tasks');
  }
}
