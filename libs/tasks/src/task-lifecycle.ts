import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { TERMINAL_TASK_STATUSES, type LogStream, type RunTaskJob, type TaskAttempt, type TaskStatus } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { FAULT_POINTS, FaultPoints } from './fault-points.js';
import { TaskCancellations } from './task-cancellations.js';
import { TaskHistoryRepository, type FinishedTask } from './task-history.repository.js';
import { TaskMetrics } from './task-metrics.js';
import { TaskQueue, type RunOptions } from './task-queue.js';
import { TaskConflictError, TaskMissingError, TaskStateStore, type StoredTask } from './task-state.store.js';

/** Statuses a worker may claim a task from: waiting, or left mid-attempt by a worker that died. */
const CLAIMABLE: readonly TaskStatus[] = ['QUEUED', 'CLAIMED', 'PROCESSING'];
const WAITING: readonly TaskStatus[] = ['SCHEDULED', 'QUEUED'];
/** Outbox entries one reconciler pass finishes per org and kind. */
const RECONCILE_BATCH = 500;

/** Run jobs added by one `addBulk` at most; more wait for the next. */
const ENQUEUE_BATCH_MAX = 500;

interface PendingRun {
  job: RunTaskJob;
  options: RunOptions;
}

/** A task a worker claimed for one attempt. */
export interface ClaimedTask {
  task: StoredTask;
  attempt: number;
  /** Earlier attempts, any left open by a dead worker closed as failed. */
  previous: TaskAttempt[];
}

/** An attempt a worker claimed and started: the task is PROCESSING. */
export interface StartedAttempt extends ClaimedTask {
  /** The attempt opened, last of `task.attempts`. */
  current: TaskAttempt;
}

/** How an attempt ended. */
export interface AttemptOutcome {
  status: TaskStatus;
  result?: unknown;
  error?: string;
}

/**
 * The one owner of a task's lifecycle: create, claim, start, progress, log, retry,
 * finish, cancel, abandon (its worker stopped responding), persist and expire. Each
 * transition is one Redis script that changes the state, appends the event and records
 * the hand-off that must follow (enqueue the run, persist the history, remove a cancelled
 * job) in the org's outbox; the process that made the transition then does the hand-off
 * and clears the entry, and `reconcile` finishes whatever a crash left behind. Nothing
 * outside this class changes a task, its backlog count, its queue job or its outboxes.
 */
@Injectable()
export class TaskLifecycle implements BeforeApplicationShutdown {
  /** Run jobs of created tasks waiting for the next bulk add while one is in flight. */
  private readonly pendingRuns: PendingRun[] = [];
  private enqueuing?: Promise<void>;

  constructor(
    private readonly store: TaskStateStore,
    private readonly queue: TaskQueue,
    private readonly history: TaskHistoryRepository,
    private readonly cancellations: TaskCancellations,
    private readonly faults: FaultPoints,
    private readonly metrics: TaskMetrics,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Stores a new task, and its run job (delayed by `delayMs`) is added right after. With
   * an idempotency key already used, stores nothing and returns the existing task's id
   * instead. The caller is answered once the task is stored: the store's script also put
   * it in the enqueue outbox, so its job is added even if this process dies first.
   */
  async create(task: StoredTask, delayMs: number): Promise<{ created: true } | { created: false; existingId: string }> {
    const stored = await this.store.create(task);
    if (!stored.created) return stored;
    this.faults.pass(FAULT_POINTS.afterCreateState);
    this.pendingRuns.push({
      job: { orgId: task.orgId, taskId: task.id },
      options: { taskClass: task.class, backlogRank: stored.backlogRank, priority: task.priority, maxAttempts: task.maxAttempts, delayMs },
    });
    this.enqueuing ??= this.enqueuePending().finally(() => (this.enqueuing = undefined));
    this.metrics.created(task.class);
    return { created: true };
  }

  /** Adds the run jobs still waiting before the process stops, so none is left to the reconciler's grace. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.enqueuing;
  }

  /**
   * Adds the run jobs of created tasks, group-committed: while one bulk add is in flight,
   * newly created tasks wait and go together in the next, so a busy API pays a share of
   * one round trip per task. Then the tasks leave the enqueue outbox; a batch that fails
   * stays there for the reconciler.
   */
  private async enqueuePending(): Promise<void> {
    while (this.pendingRuns.length) {
      const batch = this.pendingRuns.splice(0, ENQUEUE_BATCH_MAX);
      try {
        await this.queue.enqueueRuns(batch);
        await this.store.clearOutboxes(
          'enqueue',
          batch.map(({ job }) => job),
        );
      } catch (error) {
        this.logger.warn({ err: (error as Error).message, tasks: batch.length }, 'could not add run jobs; the outbox reconciler will');
      }
    }
  }

  /**
   * Claims the task for an attempt on `workerId` and starts that attempt (QUEUED → CLAIMED
   * → PROCESSING, an event for each); undefined if there is nothing to run (gone, final,
   * or claimed by another worker in the meantime). A task found CLAIMED or PROCESSING was
   * left so by a worker that died: it runs again as the next attempt.
   */
  async begin(orgId: string, taskId: string, workerId: string): Promise<StartedAttempt | undefined> {
    try {
      // The common case, a QUEUED task (its first attempt, or a retry): one script, no read before it.
      const task = await this.store.claimAndStart(orgId, taskId, workerId, new Date().toISOString());
      return { task, attempt: task.attempt, previous: task.attempts.slice(0, -1), current: task.attempts.at(-1)! };
    } catch (error) {
      if (error instanceof TaskMissingError) return undefined;
      if (!(error instanceof TaskConflictError)) throw error;
      if (TERMINAL_TASK_STATUSES.includes(error.currentStatus)) return undefined;
    }
    const claimed = await this.claimLeftOver(orgId, taskId, workerId);
    if (!claimed) return undefined;
    const current: TaskAttempt = { attempt: claimed.attempt, workerId, startedAt: new Date().toISOString() };
    return { ...claimed, task: await this.start(claimed, current), current };
  }

  /** Claims a task that was not simply QUEUED: SCHEDULED and due, or left CLAIMED or PROCESSING by a worker that died. */
  private async claimLeftOver(orgId: string, taskId: string, workerId: string): Promise<ClaimedTask | undefined> {
    let before = await this.store.get(orgId, taskId);
    if (!before || TERMINAL_TASK_STATUSES.includes(before.status)) return undefined;
    try {
      if (before.status === 'SCHEDULED') {
        // Its time has come: it is QUEUED (an event of its own) for as long as the claim below takes.
        before = await this.store.transition(orgId, taskId, ['SCHEDULED'], { status: 'QUEUED' }, { runJobExists: true });
      }
      // `attempt` names the current or upcoming attempt: a retry was queued with it raised already.
      const recovering = before.status !== 'QUEUED';
      const attempt = recovering ? before.attempt + 1 : before.attempt;
      const previous = closeAbandonedAttempts(before.attempts);
      const task = await this.store.transition(
        orgId,
        taskId,
        CLAIMABLE,
        { status: 'CLAIMED', attempt, workerId, attempts: previous },
        { attempt: before.attempt, leaveBacklog: !recovering && before.attempts.length === 0, runJobExists: true },
      );
      return { task, attempt, previous };
    } catch (error) {
      if (error instanceof TaskConflictError) return undefined;
      throw error;
    }
  }

  /*
   * start, progress, retry and finish apply only while the task is on the caller's attempt
   * (TaskConflictError otherwise): a worker whose job lock lapsed (a busy event loop, a
   * Redis failover) may still be running an attempt that a recovery has handed to another
   * worker, and must not overwrite that worker's task.
   */

  /** CLAIMED → PROCESSING with the attempt opened. */
  private async start(claimed: ClaimedTask, current: TaskAttempt): Promise<StoredTask> {
    return this.store.transition(
      claimed.task.orgId,
      claimed.task.id,
      ['CLAIMED'],
      { status: 'PROCESSING', startedAt: claimed.task.startedAt ?? current.startedAt, attempts: [...claimed.previous, current] },
      { attempt: claimed.attempt },
    );
  }

  /** Reports progress (0..1) of a running attempt. */
  async progress(orgId: string, taskId: string, attempt: number, fraction: number): Promise<void> {
    await this.store.transition(orgId, taskId, ['PROCESSING'], { progress: Math.min(1, Math.max(0, fraction)) }, { attempt });
  }

  /** Appends one chunk of output; returns its sequence number. */
  log(orgId: string, taskId: string, stream: LogStream, chunk: string): Promise<number> {
    return this.store.appendLog(orgId, taskId, stream, chunk);
  }

  /** PROCESSING → QUEUED with attempt+1; the run job's own retry (with backoff) runs it again. */
  async retry(orgId: string, taskId: string, attempt: number, error: string, attempts: TaskAttempt[]): Promise<void> {
    await this.store.transition(
      orgId,
      taskId,
      ['PROCESSING'],
      { status: 'QUEUED', attempt: attempt + 1, error, attempts, progress: null },
      { attempt },
    );
  }

  /**
   * CLAIMED | PROCESSING → QUEUED on the same attempt number: the attempt met a Redis
   * outage (failover, lost connection), which is no failure of the task's own, so it runs
   * again without using up one of its attempts. The interrupted run stays in `attempts`
   * (the task left the backlog once already). Applies only while the task is still on this
   * attempt: if a recovery gave it to another worker meanwhile, that worker owns it and
   * this returns false.
   */
  async interrupt(claimed: ClaimedTask, current: TaskAttempt, reason: string): Promise<boolean> {
    const { orgId, id: taskId } = claimed.task;
    try {
      await this.store.transition(
        orgId,
        taskId,
        ['CLAIMED', 'PROCESSING'],
        {
          status: 'QUEUED',
          progress: null,
          attempts: [
            ...claimed.previous,
            { ...current, finishedAt: new Date().toISOString(), status: 'QUEUED', error: `interrupted: ${reason}` },
          ],
        },
        { attempt: claimed.attempt },
      );
      return true;
    } catch (error) {
      if (error instanceof TaskConflictError || error instanceof TaskMissingError) return false;
      throw error;
    }
  }

  /** PROCESSING → SUCCESS | FAILED | CANCELLED, into the persist outbox in the same step. */
  async finish(orgId: string, taskId: string, attempt: number, outcome: AttemptOutcome, attempts: TaskAttempt[]): Promise<void> {
    await this.store.transition(
      orgId,
      taskId,
      ['PROCESSING'],
      {
        status: outcome.status,
        finishedAt: new Date().toISOString(),
        attempts,
        result: outcome.result ?? null,
        error: outcome.error ?? null,
        ...(outcome.status === 'SUCCESS' ? { progress: 1 } : {}),
      },
      { persist: true, attempt },
    );
    this.faults.pass(FAULT_POINTS.afterFinishState);
  }

  /** A live task whose worker stopped responding more often than the queue allows: FAILED. Undefined if it was not live. */
  async abandon(orgId: string, taskId: string, reason: string): Promise<StoredTask | undefined> {
    try {
      return await this.store.transition(
        orgId,
        taskId,
        CLAIMABLE,
        { status: 'FAILED', error: `the worker running it stopped responding (${reason})`, finishedAt: new Date().toISOString() },
        { persist: true, runJobExists: true },
      );
    } catch (error) {
      if (error instanceof TaskConflictError) return undefined;
      throw error;
    }
  }

  /**
   * Cancels a live task: a waiting one at once (CANCELLED, its job removed, its history
   * persisted); a running one by telling its worker, which stops it. Throws
   * TaskConflictError for a final task, TaskMissingError for one that is not live.
   */
  async cancel(orgId: string, taskId: string): Promise<StoredTask> {
    try {
      const cancelled = await this.store.transition(
        orgId,
        taskId,
        WAITING,
        { status: 'CANCELLED', finishedAt: new Date().toISOString() },
        { leaveBacklog: true, persist: true, removeRun: true, runJobExists: true },
      );
      this.faults.pass(FAULT_POINTS.afterCancelState);
      await this.queue.removeRun(cancelled.class, taskId);
      await this.store.clearOutbox(orgId, 'remove', [taskId]);
      return cancelled;
    } catch (error) {
      if (!(error instanceof TaskConflictError) || TERMINAL_TASK_STATUSES.includes(error.currentStatus)) throw error;
    }
    const requested = await this.store.transition(orgId, taskId, ['CLAIMED', 'PROCESSING'], { cancelRequested: true });
    await this.cancellations.publish(orgId, taskId);
    return requested;
  }

  /**
   * Persists the org's due finished tasks, up to HISTORY_BATCH_SIZE in one transaction;
   * `afterWrite` runs once they are in Postgres (webhooks), then they leave the outbox
   * and their live keys expire. Returns how many were taken; 0 when none were due. If
   * the write fails the batch comes due again after HISTORY_RETRY_INTERVAL_MS.
   */
  async persistDue(orgId: string, afterWrite: (tasks: FinishedTask[]) => Promise<void>): Promise<number> {
    const now = Date.now();
    const ids = await this.store.takeDue(orgId, 'persist', now, now + this.config.TASK_OUTBOX_GRACE_MS, this.config.HISTORY_BATCH_SIZE);
    if (ids.length === 0) return 0;
    try {
      const tasks = await this.store.getMany(orgId, ids);
      const finished = tasks.filter((task) => TERMINAL_TASK_STATUSES.includes(task.status));
      const logs = await this.store.allLogsOf(
        orgId,
        finished.map((task) => task.id),
      );
      const batch = finished.map((task, index) => ({ task, logs: logs[index]! }));
      await this.history.persistMany(orgId, batch);
      this.faults.pass(FAULT_POINTS.afterHistoryWrite);
      await afterWrite(batch);
      // Ids without a live final task (expired long after an earlier write) just leave the outbox.
      await this.store.persisted(orgId, ids);
    } catch (error) {
      await this.store.reschedule(orgId, 'persist', ids, Date.now() + this.config.HISTORY_RETRY_INTERVAL_MS);
      throw error;
    }
    return ids.length;
  }

  /**
   * Finishes the org's hand-offs older than TASK_OUTBOX_GRACE_MS that their process never
   * did (it died): adds the run job of a waiting task (its job id is the task id, so an
   * existing job stays single) and removes a cancelled task's job. Overdue history is
   * persisted by `persistDue`. Returns how many entries it finished.
   */
  async reconcile(orgId: string): Promise<{ enqueued: number; removed: number }> {
    const now = Date.now();
    const overdue = now - this.config.TASK_OUTBOX_GRACE_MS;
    const hideUntil = now + this.config.TASK_OUTBOX_GRACE_MS;
    const toEnqueue = await this.store.takeDue(orgId, 'enqueue', overdue, hideUntil, RECONCILE_BATCH);
    let enqueued = 0;
    for (const task of await this.store.getMany(orgId, toEnqueue)) {
      if (!WAITING.includes(task.status)) continue;
      const delayMs = task.runAt ? Math.max(0, Date.parse(task.runAt) - now) : 0;
      await this.queue.enqueueRun(
        { orgId, taskId: task.id },
        { taskClass: task.class, backlogRank: 1, priority: task.priority, maxAttempts: task.maxAttempts, delayMs },
      );
      enqueued++;
    }
    await this.store.clearOutbox(orgId, 'enqueue', toEnqueue);

    const toRemove = await this.store.takeDue(orgId, 'remove', overdue, hideUntil, RECONCILE_BATCH);
    for (const task of await this.store.getMany(orgId, toRemove)) await this.queue.removeRun(task.class, task.id);
    await this.store.clearOutbox(orgId, 'remove', toRemove);
    if (enqueued || toRemove.length) this.logger.info({ orgId, enqueued, removed: toRemove.length }, 'finished interrupted task hand-offs');
    return { enqueued, removed: toRemove.length };
  }

  /** The live task (Redis), or undefined once it expired or never was. */
  get(orgId: string, taskId: string): Promise<StoredTask | undefined> {
    return this.store.get(orgId, taskId);
  }

  /** Orgs whose outboxes the reconciler and persisters look at. */
  orgsWithTasks(): Promise<string[]> {
    return this.store.orgsWithTasks();
  }

  /** Entries waiting in each of the org's outboxes (zero everywhere once every hand-off is done). */
  outboxSizes(orgId: string): Promise<Record<'enqueue' | 'persist' | 'remove', number>> {
    return this.store.outboxSizes(orgId);
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
