import type { LogStream } from '#libs/contracts';
import type { StoredTask } from '#libs/tasks';
import type { TaskResource } from './task-leases.js';

/** What a handler gets to run one attempt of a task. */
export interface TaskContext<Params extends object> {
  task: StoredTask;
  /** The task's params, validated against its type's params class. */
  params: Params;
  /** Writes output to the task's live log (buffered, flushed in order). */
  log(stream: LogStream, text: string): void;
  /** Reports progress from 0 to 1; clients see it live. */
  progress(fraction: number): Promise<void>;
  /** Aborted when the task is cancelled or times out; `signal.reason` says which. */
  signal: AbortSignal;
  /** Environments leased for this attempt (the task's `resources`), released when it ends. */
  resources: TaskResource[];
}

/** Runs tasks of one type; returns the task's result, throws to fail the attempt. */
export interface TaskHandler<Params extends object = object> {
  type: string;
  run(context: TaskContext<Params>): Promise<unknown>;
}

/** Thrown by a handler for a failure whose message is all the user needs (no stack in the task's error). */
export class TaskFailure extends Error {
  override name = 'TaskFailure';
}

export const ABORT_REASON = { cancelled: 'cancelled', timeout: 'timeout' } as const;
