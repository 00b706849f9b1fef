import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import {
  RunTaskJob,
  TERMINAL_TASK_STATUSES,
  taskQueueName,
  validatePayload,
  type TaskAttempt,
  type TaskClass,
  type TaskStatus,
} from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { QueueFactory } from '#libs/redis';
import { TaskConflictError, TaskQueue, TaskStateStore, TaskTypeCatalog, type StoredTask } from '#libs/tasks';
import { ABORT_REASON, TaskFailure } from './task-handler.js';
import { TaskHandlers } from './task-handlers.js';
import { TaskLeases } from './task-leases.js';
import { TaskLogBuffer } from './task-log-buffer.js';
import { WorkerIdentity } from './worker-identity.js';

/** A task running in this process, reachable by a cancellation. */
export interface RunningTask {
  controller: AbortController;
}

const LIVE_STATUSES: readonly TaskStatus[] = ['QUEUED', 'CLAIMED', 'PROCESSING'];

/**
 * Runs task attempts from the `tasks` queue: QUEUED → CLAIMED → PROCESSING → SUCCESS |
 * FAILED | CANCELLED, or back to QUEUED for a retry. Every step is one atomic Redis
 * transition with its event. A finished task is handed to the history queue.
 */
@Injectable()
export class TaskRunner implements OnApplicationBootstrap {
  /** Tasks running in this process, by id, so a cancellation can reach them. */
  readonly running = new Map<string, RunningTask>();

  constructor(
    private readonly queues: QueueFactory,
    private readonly store: TaskStateStore,
    private readonly queue: TaskQueue,
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
    const before = await this.store.get(orgId, taskId);
    if (!before) return;
    if (TERMINAL_TASK_STATUSES.includes(before.status)) {
      // Finished by a worker that died before handing it over: hand it over now.
      await this.queue.enqueuePersist({ orgId, taskId });
      return;
    }
    // `attempt` names the current or upcoming attempt: a retry was queued with it raised already;
    // a task found CLAIMED or PROCESSING was left so by a worker that died, and runs again as the next one.
    if (before.status === 'SCHEDULED') {
      // Its time has come: it is QUEUED (an event of its own) for as long as the claim below takes.
      Object.assign(before, await this.store.transition(orgId, taskId, ['SCHEDULED'], { status: 'QUEUED' }));
    }
    const recovering = before.status !== 'QUEUED';
    const attempt = recovering ? before.attempt + 1 : before.attempt;
    const attempts = closeAbandonedAttempts(before.attempts);
    let task: StoredTask;
    try {
      task = await this.store.transition(orgId, taskId, LIVE_STATUSES, {
        status: 'CLAIMED',
        attempt,
        workerId: this.identity.id,
        attempts,
      });
    } catch (error) {
      if (error instanceof TaskConflictError) return;
      throw error;
    }
    if (!recovering && before.attempts.length === 0) await this.store.leaveBacklog(orgId);

    const controller = new AbortController();
    this.running.set(taskId, { controller });
    this.identity.running++;
    try {
      await this.runAttempt(task, attempt, attempts, controller);
    } finally {
      this.running.delete(taskId);
      this.identity.running--;
    }
  }

  private async runAttempt(claimed: StoredTask, attempt: number, previous: TaskAttempt[], controller: AbortController): Promise<void> {
    const { orgId, id: taskId } = claimed;
    const startedAt = new Date().toISOString();
    const current: TaskAttempt = { attempt, workerId: this.identity.id, startedAt };
    const logs = new TaskLogBuffer(
      {
        maxBytes: this.config.TASK_LOG_FLUSH_BYTES,
        maxDelayMs: this.config.TASK_LOG_FLUSH_INTERVAL_MS,
        idleMs: this.config.TASK_LOG_IDLE_FLUSH_MS,
      },
      (stream, chunk) => this.store.appendLog(orgId, taskId, stream, chunk),
    );
    const timeout = setTimeout(() => controller.abort(ABORT_REASON.timeout), claimed.timeoutMs);
    let outcome: { status: TaskStatus; result?: unknown; error?: string };
    try {
      const task = await this.store.transition(orgId, taskId, ['CLAIMED'], {
        status: 'PROCESSING',
        startedAt: claimed.startedAt ?? startedAt,
        attempts: [...previous, current],
      });
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
        progress: async (fraction) => {
          await this.store.transition(orgId, taskId, ['PROCESSING'], { progress: Math.min(1, Math.max(0, fraction)) });
        },
      });
      outcome = controller.signal.aborted
        ? this.abortedOutcome(controller, claimed.timeoutMs)
        : { status: 'SUCCESS', result: result ?? null };
    } catch (error) {
      outcome = controller.signal.aborted
        ? this.abortedOutcome(controller, claimed.timeoutMs)
        : { status: 'FAILED', error: error instanceof TaskFailure ? error.message : String((error as Error)?.message ?? error) };
    } finally {
      clearTimeout(timeout);
      await this.leases.release(claimed);
    }
    if (outcome.status === 'FAILED') logs.append('SYSTEM', `attempt ${attempt} failed: ${outcome.error}\n`);
    if (outcome.status === 'CANCELLED') logs.append('SYSTEM', 'cancelled\n');
    await logs.close();

    const finishedAt = new Date().toISOString();
    const attempts = [...previous, { ...current, finishedAt, status: outcome.status, ...(outcome.error ? { error: outcome.error } : {}) }];
    const retry = outcome.status === 'FAILED' && attempt < claimed.maxAttempts;
    if (retry) {
      await this.store.transition(orgId, taskId, ['PROCESSING'], {
        status: 'QUEUED',
        attempt: attempt + 1,
        error: outcome.error,
        attempts,
        progress: null,
      });
      throw new Error(outcome.error);
    }
    await this.store.transition(orgId, taskId, ['PROCESSING'], {
      status: outcome.status,
      finishedAt,
      attempts,
      result: outcome.result ?? null,
      error: outcome.error ?? null,
      ...(outcome.status === 'SUCCESS' ? { progress: 1 } : {}),
    });
    await this.queue.enqueuePersist({ orgId, taskId });
    this.logger.info({ orgId, taskId, type: claimed.type, status: outcome.status, attempt }, 'task finished');
  }

  private abortedOutcome(controller: AbortController, timeoutMs: number): { status: TaskStatus; error?: string } {
    return controller.signal.reason === ABORT_REASON.timeout
      ? { status: 'FAILED', error: `timed out after ${timeoutMs} ms` }
      : { status: 'CANCELLED' };
  }

  private async failStalled(data: RunTaskJob, reason: string): Promise<void> {
    try {
      const task = await this.store.transition(data.orgId, data.taskId, LIVE_STATUSES, {
        status: 'FAILED',
        error: `the worker running it stopped responding (${reason})`,
        finishedAt: new Date().toISOString(),
      });
      await this.queue.enqueuePersist({ orgId: task.orgId, taskId: task.id });
      await this.leases.release(task);
    } catch (error) {
      if (!(error instanceof TaskConflictError)) this.logger.error({ err: error, taskId: data.taskId }, 'could not fail a stalled task');
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

/** An attempt left open by a worker that died mid-task is closed as failed before the next one starts. */
function closeAbandonedAttempts(attempts: TaskAttempt[]): TaskAttempt[] {
  return attempts.map((attempt) =>
    attempt.finishedAt
      ? attempt
      : { ...attempt, finishedAt: new Date().toISOString(), status: 'FAILED', error: 'the worker running it stopped responding' },
  );
}
