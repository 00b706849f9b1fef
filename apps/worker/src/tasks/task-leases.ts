import { Inject, Injectable } from '@nestjs/common';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { ResourceConflictError, ResourceNotFoundError, ResourceService, type EnvironmentView } from '#libs/resources';
import type { StoredTask } from '#libs/tasks';
import { TaskFailure } from './task-handler.js';

/** Added to a task's time limit for its leases' lifetime, so a lease outlives the attempt and ends only by release (or a dead worker). */
const LEASE_SLACK_SECONDS = 60;

/** An environment leased for a running task. */
export interface TaskResource {
  /** The pool as the task named it. */
  pool: string;
  allocationId: string;
  environment: EnvironmentView;
}

/** `PLATFORM_RESOURCE_<POOL>=<environment name>` for each leased environment: the pool uppercased, other characters as `_`. */
export function resourceVariables(resources: TaskResource[]): Record<string, string> {
  return Object.fromEntries(
    resources.map((resource) => [`PLATFORM_RESOURCE_${resource.pool.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, resource.environment.name]),
  );
}

/**
 * Leases a task's environments before its attempt runs and releases them when it ends.
 * The lease holder is `task:<id>`, so whatever an earlier attempt left (its worker died)
 * is released before the next attempt leases again. With none free the attempt waits in
 * the pool's FIFO queue (no polling) until one is handed over, or until the task is
 * cancelled or times out.
 */
@Injectable()
export class TaskLeases {
  constructor(
    private readonly resources: ResourceService,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async acquire(task: StoredTask, signal: AbortSignal): Promise<TaskResource[]> {
    if (!task.resources?.length) return [];
    await this.resources.releaseHolder(task.orgId, holderOf(task.id));
    const leased: TaskResource[] = [];
    for (const { pool } of task.resources) {
      try {
        const lease = await this.resources.allocate(task.orgId, pool, {
          holder: holderOf(task.id),
          ttlSeconds: Math.ceil(task.timeoutMs / 1000) + LEASE_SLACK_SECONDS,
          waitMs: task.timeoutMs,
          signal,
        });
        leased.push({ pool, allocationId: lease.id, environment: lease.environment });
      } catch (error) {
        if (error instanceof ResourceNotFoundError) throw new TaskFailure(`no resource pool ${pool}`);
        if (error instanceof ResourceConflictError && !signal.aborted) throw new TaskFailure(`no environment of pool ${pool} became free`);
        throw error;
      }
    }
    return leased;
  }

  /** Releases every lease of the task; a failure is logged, the leases then end at their expiry. */
  async release(task: Pick<StoredTask, 'orgId' | 'id' | 'resources'>): Promise<void> {
    if (!task.resources?.length) return;
    await this.resources.releaseHolder(task.orgId, holderOf(task.id)).catch((error: Error) => {
      this.logger.warn({ orgId: task.orgId, taskId: task.id, err: error.message }, 'could not release the task leases');
    });
  }
}

function holderOf(taskId: string): string {
  return `task:${taskId}`;
}
