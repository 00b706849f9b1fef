import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import { RunTaskJob, taskQueueName, validatePayload, type TaskAttempt, type TaskClass } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { isRedisUnavailable, QueueFactory } from '#libs/redis';
import { TaskConflictError, TaskLifecycle, TaskMissingError, TaskTypeCatalog, type AttemptOutcome, type StartedAttempt } from '#libs/tasks';
import { ABORT_REASON, TaskFailure } from './task-handler.js';
import { TaskHandlers } from './task-handlers.js';
import { TaskLeases } from './task-leases.js';
import { RunningTasks } from './running-tasks.js';
import { TaskLogBuffer } from './task-log-buffer.js';
import { WorkerIdentity } from './worker-identity.js';

/**
 * How long a step the attempt cannot do without (claim, requeue, finish) is tried again
 * while Redis is unavailable. A failover takes seconds; past this the deployment is down,
 * and the job's lock runs out, so the stalled-job check hands the task on once it is back.
 */
const OUTAGE_PATIENCE_MS = 60_000;
/** First and longest pause between tries during an outage. */
const OUTAGE_RETRY_MS = { first: 100, max: 2000 };

/** The attempt met a Redis outage: it goes back to the queue, not counted as the task's failure. */
class AttemptInterrupted extends Error {
  constructor(
    readonly attempt: TaskAttempt,
    override readonly cause: Error,
  ) {
    super(cause.message);
  }
}

/**
 * Runs task attempts from the `tasks` queues: QUEUED → CLAIMED → PROCESSING → SUCCESS |
 * FAILED | CANCELLED, or back to QUEUED for a retry. Every step goes through
 * `TaskLifecycle`; a finished task's history hand-off is recorded with its final state.
 * A Redis outage during an attempt (failover, lost connection) is the platform's, not the
 * task's: the attempt goes back to the queue on the same attempt number and its job is
 * delayed without using up one of BullMQ's attempts.
 */
@Injectable()
export class TaskRunner implements OnApplicationBootstrap {
  constructor(
    private readonly queues: QueueFactory,
    private readonly lifecycle: TaskLifecycle,
    private readonly running: RunningTasks,
    private readonly catalog: TaskTypeCatalog,
    private readonly handlers: TaskHandlers,
    private readonly identity: WorkerIdentity,
    private readonly leases: TaskLeases,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /** One BullMQ worker per class this process serves, so each class has its own free slots. */
  onApplicationBootstrap(): void {
    for (const taskClass of this.config.WORKER_CLASSES.split(',') as TaskClass[]) {
      const worker = this.queues.worker<RunTaskJob>(taskQueueName(taskClass), (job, token) => this.process(job, token), {
        concurrency: this.config.TASK_CONCURRENCY,
      });
      // A job whose worker died more often than BullMQ allows ends here, not in process().
      worker.on('failed', (job, error) => {
        if (job && error.message.includes('stalled')) void this.failStalled(job.data, error.message);
      });
    }
  }

  async process(job: Job<RunTaskJob>, token?: string): Promise<void> {
    const { orgId, taskId } = this.payloadOf(job);
    // Listening before the task is PROCESSING: a cancel after that reaches the controller, an earlier one is in `cancelRequested`.
    const controller = this.running.start(orgId, taskId);
    let started: StartedAttempt | undefined;
    try {
      try {
        started = await this.lifecycle.begin(orgId, taskId, this.identity.id);
      } catch (error) {
        if (isRedisUnavailable(error)) return await this.postpone(job, token, error as Error);
        throw error;
      }
      if (!started) return;
      this.identity.countRunning(1);
      try {
        await this.runAttempt(started, controller);
      } finally {
        this.identity.countRunning(-1);
      }
    } catch (error) {
      if (error instanceof TaskConflictError || error instanceof TaskMissingError) {
        // Its job lock lapsed and a recovery gave the task to another worker (or ended it): that one owns it now.
        this.logger.warn(
          { orgId, taskId, attempt: started?.attempt, err: error.message },
          'task attempt superseded; left to its new owner',
        );
        return;
      }
      if (!(error instanceof AttemptInterrupted) || !started) throw error;
      const interrupted = started;
      // False: a recovery gave the task to another worker meanwhile, which owns it and its job now.
      if (await this.untilRedisAnswers(() => this.lifecycle.interrupt(interrupted, error.attempt, error.message))) {
        await this.postpone(job, token, error.cause);
      }
    } finally {
      this.running.end(taskId, controller);
    }
  }

  private async runAttempt(started: StartedAttempt, controller: AbortController): Promise<void> {
    const { task } = started;
    const { orgId, id: taskId, timeoutMs, maxAttempts } = task;
    const { attempt, previous, current } = started;
    const logs = new TaskLogBuffer(
      {
        maxBytes: this.config.TASK_LOG_FLUSH_BYTES,
        maxDelayMs: this.config.TASK_LOG_FLUSH_INTERVAL_MS,
        idleMs: this.config.TASK_LOG_IDLE_FLUSH_MS,
      },
      (stream, chunk) => this.lifecycle.log(orgId, taskId, stream, chunk),
    );
    const timeout = setTimeout(() => controller.abort(ABORT_REASON.timeout), timeoutMs);
    let outcome: AttemptOutcome;
    try {
      // A cancel that arrived before this worker listened for it.
      if (task.cancelRequested) controller.abort(ABORT_REASON.cancelled);
      const handler = this.handlers.get(task.type);
      if (!handler) throw new TaskFailure(`this worker has no handler for task type "${task.type}"`);
      const params = this.catalog.validate(task.type, task.params);
      const resources = await this.leases.acquire(task, controller.signal);
      const result = await handler.run({
        task,
        params,
        signal: controller.signal,
        resources,
        log: (stream, text) => logs.append(stream, text),
        progress: (fraction) => this.lifecycle.progress(orgId, taskId, attempt, fraction),
      });
      outcome = controller.signal.aborted ? this.abortedOutcome(controller, timeoutMs) : { status: 'SUCCESS', result: result ?? null };
    } catch (error) {
      // From start or progress: the attempt is no longer this worker's (see process()).
      if (error instanceof TaskConflictError || error instanceof TaskMissingError) throw error;
      if (!controller.signal.aborted && isRedisUnavailable(error)) {
        await logs.close();
        throw new AttemptInterrupted(current, error as Error);
      }
      outcome = controller.signal.aborted
        ? this.abortedOutcome(controller, timeoutMs)
        : { status: 'FAILED', error: error instanceof TaskFailure ? error.message : String((error as Error)?.message ?? error) };
    } finally {
      clearTimeout(timeout);
      await this.leases.release(task);
    }
    if (outcome.status === 'FAILED') logs.append('SYSTEM', `attempt ${attempt} failed: ${outcome.error}\n`);
    if (outcome.status === 'CANCELLED') logs.append('SYSTEM', 'cancelled\n');
    await logs.close();

    const finishedAt = new Date().toISOString();
    const attempts = [...previous, { ...current, finishedAt, status: outcome.status, ...(outcome.error ? { error: outcome.error } : {}) }];
    if (outcome.status === 'FAILED' && attempt < maxAttempts) {
      await this.untilRedisAnswers(() => landed(this.lifecycle.retry(orgId, taskId, attempt, outcome.error!, attempts), 'QUEUED'));
      throw new Error(outcome.error);
    }
    await this.untilRedisAnswers(() => landed(this.lifecycle.finish(orgId, taskId, attempt, outcome, attempts), outcome.status));
    this.logger.debug({ orgId, taskId, type: task.type, status: outcome.status, attempt }, 'task finished');
  }

  /** Sends the job back to wait (delayed, as a retry would be) without using up one of its attempts. */
  private async postpone(job: Job<RunTaskJob>, token: string | undefined, cause: Error): Promise<never> {
    this.logger.warn({ taskId: job.data.taskId, err: cause.message }, 'Redis unavailable during a task attempt; it runs again');
    await this.untilRedisAnswers(() => job.moveToDelayed(Date.now() + this.config.TASK_RETRY_BACKOFF_MS, token));
    throw new DelayedError();
  }

  /** `step`, tried again while Redis answers that it cannot serve it now, for up to OUTAGE_PATIENCE_MS. */
  private async untilRedisAnswers<T>(step: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + OUTAGE_PATIENCE_MS;
    for (let pause = OUTAGE_RETRY_MS.first; ; pause = Math.min(pause * 2, OUTAGE_RETRY_MS.max)) {
      try {
        return await step();
      } catch (error) {
        if (!isRedisUnavailable(error) || Date.now() + pause > deadline) throw error;
      }
      await delay(pause);
    }
  }

  private abortedOutcome(controller: AbortController, timeoutMs: number): AttemptOutcome {
    return controller.signal.reason === ABORT_REASON.timeout
      ? { status: 'FAILED', error: `timed out after ${timeoutMs} ms` }
      : { status: 'CANCELLED' };
  }

  private async failStalled(data: RunTaskJob, reason: string): Promise<void> {
    try {
      const task = await this.lifecycle.abandon(data.orgId, data.taskId, reason);
      if (task) await this.leases.release(task);
    } catch (error) {
      this.logger.error({ err: error, taskId: data.taskId }, 'could not fail a stalled task');
    }
  }

  private payloadOf(job: Job<RunTaskJob>): RunTaskJob {
    try {
      return validatePayload(RunTaskJob, job.data);
    } catch (error) {
      throw new UnrecoverableError(`invalid job payload: ${(error as Error).message}`);
    }
  }
}

/**
 * `transition`, where a conflict with the status it was moving to means it landed already:
 * a try whose reply the outage swallowed after Redis had applied it.
 */
async function landed(transition: Promise<void>, status: string): Promise<void> {
  try {
    await transition;
  } catch (error) {
    if (!(error instanceof TaskConflictError && error.currentStatus === status)) throw error;
  }
}
