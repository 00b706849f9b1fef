import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { PlatformConfig } from '#libs/config';
import { noopTaskType } from './noop.task-type.js';
import { shellTaskType } from './shell.task-type.js';
import { sleepTaskType } from './sleep.task-type.js';
import type { TaskTypeDefinition } from './task-type-definition.js';
import { InvalidInputError } from '#libs/contracts';

/** Every task type the platform knows. A new type is added here and gets a handler in the worker. */
export const TASK_TYPE_DEFINITIONS: TaskTypeDefinition[] = [shellTaskType, sleepTaskType, noopTaskType] as TaskTypeDefinition[];

/** Params that do not fit their task type; `problems` has one message per bad field. */
export class TaskParamsError extends InvalidInputError {
  override name = 'TaskParamsError';
}

function messagesOf(errors: ValidationError[], path = 'params'): string[] {
  return errors.flatMap((error) => {
    const here = `${path}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => `${here}: ${message}`);
    return [...own, ...messagesOf(error.children ?? [], here)];
  });
}

/** Validates a task's type and params the same way in the API (at creation) and the worker (before running). */
@Injectable()
export class TaskTypeCatalog {
  private readonly definitions = new Map(TASK_TYPE_DEFINITIONS.map((definition) => [definition.type, definition]));

  constructor(private readonly config: PlatformConfig) {}

  get types(): string[] {
    return [...this.definitions.keys()];
  }

  /** The params as a validated instance of the type's params class; throws TaskParamsError. */
  validate(type: string, params: unknown): object {
    const definition = this.definitions.get(type);
    if (!definition) throw new TaskParamsError([`type must be one of: ${this.types.join(', ')}`]);
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new TaskParamsError(['params must be an object']);
    const instance = plainToInstance(definition.params, params);
    // forbidUnknownValues would refuse a params class without fields (noop); the class is always ours.
    const problems = messagesOf(validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false }));
    if (problems.length === 0) problems.push(...(definition.check?.(instance, this.config) ?? []));
    if (problems.length > 0) throw new TaskParamsError(problems);
    return instance;
  }

  /**
   * Checks the task a schedule or trigger will create, without throwing: the validated
   * params, and the problems as `task.<problem>` to report beside the caller's own.
   */
  checkTemplate(type: string, params: unknown): { params: Record<string, unknown>; problems: string[] } {
    try {
      return { params: { ...this.validate(type, params) }, problems: [] };
    } catch (error) {
      if (!(error instanceof TaskParamsError)) throw error;
      return { params: {}, problems: error.problems.map((problem) => `task.${problem}`) };
    }
  }
}
