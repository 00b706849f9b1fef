import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import { TASK_CLASSES, taskQueueName, type RunTaskJob, type TaskClass } from '#libs/contracts';
import { QueueFactory } from '#libs/redis';

/** BullMQ's largest priority; lower runs first. */
const MAX_BULLMQ_PRIORITY = 2_097_151;
/** User priorities (1 most urgent … 10) fit inside one fair-share rank. */
export const TASK_PRIORITY_LEVELS = 10;

export interface RunOptions {
  taskClass: TaskClass;
  backlogRank: number;
  priority: number;
  maxAttempts: number;
  /** Milliseconds until a delayed task is due. */
  delayMs?: number;
}

/**
 * The task queues, one per priority class (run an attempt). Fair share across orgs: a
 * task's BullMQ priority starts from its place in its org's own backlog, so a flood from
 * one org interleaves with another's tasks instead of queueing them behind it; the
 * task's own priority orders tasks of one place. Only `TaskLifecycle` uses it.
 */
@Injectable()
export class TaskQueue {
  private readonly runs: Record<TaskClass, Queue<RunTaskJob>>;

  constructor(
    queues: QueueFactory,
    private readonly config: PlatformConfig,
  ) {
    this.runs = Object.fromEntries(
      TASK_CLASSES.map((taskClass) => [taskClass, queues.queue<RunTaskJob>(taskQueueName(taskClass))]),
    ) as Record<TaskClass, Queue<RunTaskJob>>;
  }

  /** Adds the task's run job; the job id is the task id, so adding it again while it exists changes nothing. */
  async enqueueRun(job: RunTaskJob, options: RunOptions): Promise<void> {
    await this.runs[options.taskClass].add('run', job, this.jobOptions(job, options));
  }

  /** Adds the run jobs of many tasks, one round trip per class (`addBulk`); as `enqueueRun` for each. */
  async enqueueRuns(runs: { job: RunTaskJob; options: RunOptions }[]): Promise<void> {
    await Promise.all(
      TASK_CLASSES.map(async (taskClass) => {
        const ofClass = runs.filter((run) => run.options.taskClass === taskClass);
        if (ofClass.length === 0) return;
        await this.runs[taskClass].addBulk(
          ofClass.map(({ job, options }) => ({ name: 'run', data: job, opts: this.jobOptions(job, options) })),
        );
      }),
    );
  }

  private jobOptions(job: RunTaskJob, options: RunOptions) {
    return {
      jobId: job.taskId,
      priority: Math.min(MAX_BULLMQ_PRIORITY, (options.backlogRank - 1) * TASK_PRIORITY_LEVELS + options.priority),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      attempts: options.maxAttempts,
      backoff: { type: 'exponential' as const, delay: this.config.TASK_RETRY_BACKOFF_MS },
      removeOnComplete: true,
      removeOnFail: true,
    };
  }

  /** Drops a task's run job that has not started (a cancelled QUEUED or SCHEDULED task); one a worker holds finishes by itself. */
  async removeRun(taskClass: TaskClass, taskId: string): Promise<void> {
    await this.runs[taskClass].remove(taskId).catch(() => undefined);
  }
}
