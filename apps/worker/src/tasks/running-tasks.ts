import { Injectable } from '@nestjs/common';
import { ABORT_REASON } from './task-handler.js';

/** The tasks running in this process, so a cancellation can reach the one it names. */
@Injectable()
export class RunningTasks {
  private readonly controllers = new Map<string, { orgId: string; controller: AbortController }>();

  /** Registers a task's attempt; returns the controller that aborts it. */
  start(orgId: string, taskId: string): AbortController {
    const controller = new AbortController();
    this.controllers.set(taskId, { orgId, controller });
    return controller;
  }

  /** The attempt ended; a later attempt of the task on this process (its first one was superseded) stays. */
  end(taskId: string, controller: AbortController): void {
    if (this.controllers.get(taskId)?.controller === controller) this.controllers.delete(taskId);
  }

  /** Aborts the task if it runs here for that org; true when it did. */
  cancel(orgId: string, taskId: string): boolean {
    const running = this.controllers.get(taskId);
    if (running?.orgId !== orgId) return false;
    running.controller.abort(ABORT_REASON.cancelled);
    return true;
  }
}
