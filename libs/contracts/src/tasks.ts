import { IsBoolean, IsOptional, IsUUID } from 'class-validator';

export const TASK_STATUSES = ['SCHEDULED', 'QUEUED', 'CLAIMED', 'PROCESSING', 'SUCCESS', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = ['SUCCESS', 'FAILED', 'CANCELLED'];

/** Priority classes: critical (quick checks), normal (installs, deploys), batch (preemptible bulk work). */
export const TASK_CLASSES = ['critical', 'normal', 'batch'] as const;
export type TaskClass = (typeof TASK_CLASSES)[number];

export const LOG_STREAMS = ['STDOUT', 'STDERR', 'SYSTEM'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

/** One flushed piece of a task's output. */
export interface TaskLogChunk {
  seq: number;
  stream: LogStream;
  chunk: string;
  at: string;
}

/** One try at running a task. */
export interface TaskAttempt {
  attempt: number;
  workerId: string;
  startedAt: string;
  finishedAt?: string;
  status?: TaskStatus;
  error?: string;
}

/** The database change that fired a trigger, as the task's handler receives it. */
export interface RowChangeEvent {
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  schema: string;
  table: string;
  record: Record<string, unknown> | null;
  old_record: Record<string, unknown> | null;
  commitTimestamp: string | null;
}

/** An environment a task leases from a pool (by the pool's id or name) before it runs. */
export interface TaskResourceRequest {
  pool: string;
}

/** A task as clients see it, whichever tier (Redis live, Postgres history) answers. */
export interface TaskView {
  id: string;
  type: string;
  status: TaskStatus;
  params: Record<string, unknown>;
  class: TaskClass;
  priority: number;
  attempt: number;
  maxAttempts: number;
  timeoutMs: number;
  progress?: number;
  result?: unknown;
  error?: string;
  workerId?: string;
  idempotencyKey?: string;
  /** The schedule that created it, if any. */
  scheduleId?: string;
  /** The task this one re-ran, when it was created as a re-run. */
  rerunOf?: string;
  /** The trigger that created it, and the change that fired it. */
  trigger?: { triggerId: string; event: RowChangeEvent };
  /** When a delayed task becomes due (it is SCHEDULED until then). */
  runAt?: string;
  attempts: TaskAttempt[];
  /** Environments leased for each attempt and released when it ends. */
  resources?: TaskResourceRequest[];
  /** Names of the org secrets the task receives as environment variables (never their values). */
  secrets?: string[];
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

/** Windows `GET /v1/stats/tasks` answers for, per minute. */
export const TASK_STATS_WINDOWS = ['15m', '1h', '6h', '24h'] as const;
export type TaskStatsWindow = (typeof TASK_STATS_WINDOWS)[number];

/** One minute of finished tasks: how many, how they ended, how long they ran, and how many waited at its end. */
export interface TaskStatsMinute {
  /** Start of the minute (ISO). */
  at: string;
  finished: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Tasks created by the end of the minute and not started yet (of those finished within the window). */
  waiting: number;
  /** Run-time percentiles (started → finished) of the tasks finished in the minute; null when none ran. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/** Task figures of an org over a window, from its task history: per minute, and per final status. */
export interface TaskStats {
  window: TaskStatsWindow;
  from: string;
  /** The moment the figures were read; tasks finishing later are not in them. */
  to: string;
  minutes: TaskStatsMinute[];
  /** Tasks finished within the window, per final status. */
  counts: Partial<Record<TaskStatus, number>>;
}

/** Payload of a job on a tasks queue: run one attempt of the task. */
export class RunTaskJob {
  @IsUUID()
  orgId!: string;

  @IsUUID()
  taskId!: string;
}

/** Message on the task-cancellations channel: stop this task wherever it runs. */
export class TaskCancellationMessage {
  @IsUUID()
  orgId!: string;

  @IsUUID()
  taskId!: string;
}

/** Payload of a schedule's tick: create the schedule's task for this tick. */
export class ScheduleTickJob {
  @IsUUID()
  orgId!: string;

  @IsUUID()
  scheduleId!: string;
}

/** Payload of one webhook delivery (retried with backoff until it is answered 2xx). */
export class WebhookDeliveryJob {
  @IsUUID()
  orgId!: string;

  @IsUUID()
  deliveryId!: string;

  /** Asked for by a person: sent again even if an earlier attempt was answered 2xx. */
  @IsOptional()
  @IsBoolean()
  redeliver?: boolean;
}
