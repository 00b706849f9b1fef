import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { noopHandler } from './handlers/noop.handler.js';
import { shellHandler } from './handlers/shell.handler.js';
import { sleepHandler } from './handlers/sleep.handler.js';
import { ShellRuntime } from './shell/shell-runtime.js';
import { TaskSecrets } from './shell/task-secrets.js';
import type { TaskHandler } from './task-handler.js';

/** The handler of every task type this worker runs; each type's params are defined in libs/tasks. */
@Injectable()
export class TaskHandlers {
  private readonly handlers: Map<string, TaskHandler>;

  constructor(config: PlatformConfig, shellRuntime: ShellRuntime, taskSecrets: TaskSecrets) {
    const all = [shellHandler(config, shellRuntime, taskSecrets), sleepHandler, noopHandler] as TaskHandler[];
    this.handlers = new Map(all.map((handler) => [handler.type, handler]));
  }

  get(type: string): TaskHandler | undefined {
    return this.handlers.get(type);
  }
}
