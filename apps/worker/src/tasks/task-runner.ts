import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import { RunTaskJob, taskQueueName, validatePayload, type TaskClass } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { QueueFactory } from '#libs/redis';
import { TaskLifecycle, TaskTypeCatalog, type AttemptOutcome, type StartedAttempt } from '#libs/tasks';
import { ABORT_REASON, TaskFailure } from './task-handler.js';
import { TaskHandlers } from './task-handlers.js';
import { TaskLeases } from './task-leases.js';
import { RunningTasks } from './running-tasks.js';
import { TaskLogBuffer } from './task-log-buffer.js';
import { WorkerIdentity } from './worker-identity.js';

/**
 * Runs task attempts from the `tasks` queues: QUEUED → CLAIMED → PROCESSING → SUCCESS |
 * FAILED | CANCELLED, or back to QUEUED for a retry. Every step goes through
 * `TaskLifecycle`; a finished task's history hand-off is recorded with its final state.
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
      const worker = this.queues.worker<RunTaskJob>(taskQueueName(taskClass), (job) => this.process(job), {
        concurrency: this.config.TASK_CONCURRENCY,
      });
      // A job whose worker died more often than BullMQ allows ends here, not in process().
      worker.on('failed', (job, error) => {
        if (job && error.message.includes('stalled')) void this.failStalled(job.data, error.message);
      });
    }
  }

  async process(job: Job<RunTaskJob>): Promise<void> {
    const { orgId, taskId } = this.payloadOf(job);
    // Listening before the task is PROCESSING: a cancel after that reaches the controller, an earlier one is in `cancelRequested`.
    const controller = this.running.start(orgId, taskId);
    try {
      const started = await this.lifecycle.begin(orgId, taskId, this.identity.id);
      if (!started) return;
      this.identity.running++;
      try {
        await this.runAttempt(started, controller);
      } finally {
        this.identity.running--;
      }
    } finally {
      this.running.end(taskId);
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
        progress: (fraction) => this.lifecycle.progress(orgId, taskId, fraction),
      });
      outcome = controller.signal.aborted ? this.abortedOutcome(controller, timeoutMs) : { status: 'SUCCESS', result: result ?? null };
    } catch (error) {
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
      await this.lifecycle.retry(orgId, taskId, attempt + 1, outcome.error!, attempts);
      throw new Error(outcome.error);
    }
    await this.lifecycle.finish(orgId, taskId, outcome, attempts);
    this.logger.debug({ orgId, taskId, type: task.type, status: outcome.status, attempt }, 'task finished');
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
