import { IsUUID } from 'class-validator';

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
}
