import { posix } from 'node:path';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Length, Max, Min, registerDecorator } from 'class-validator';
import { environmentNameProblems } from './shell-environment.js';
import type { TaskTypeDefinition } from './task-type-definition.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ARGS = 1000;
const MAX_TIMEOUT_MS = 86_400_000;

/** An object whose keys are environment variable names and whose values are strings. */
function IsEnvironment(): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isEnvironment',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: 'env must map variable names (letters, digits, _) to strings' },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.entries(value).every(([name, entry]) => ENV_NAME.test(name) && typeof entry === 'string'),
      },
    });
}

export class ShellParams {
  /** An entry of TASK_SHELL_ALLOW (a name or an absolute path), run by the path the worker resolved at start; never through a shell. */
  @IsString()
  @Length(1, 200)
  command!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ARGS)
  @IsString({ each: true })
  args?: string[];

  @IsOptional()
  @IsEnvironment()
  env?: Record<string, string>;

  /** A folder inside the task's own fresh working directory, relative to it. */
  @IsOptional()
  @IsString()
  @Length(1, 4096)
  cwd?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeoutMs?: number;
}

export const shellTaskType: TaskTypeDefinition<ShellParams> = {
  type: 'shell',
  params: ShellParams,
  check(params, config) {
    const allowed = config.TASK_SHELL_ALLOW.split(',').filter(Boolean);
    const problems = allowed.includes(params.command)
      ? []
      : [
          allowed.length
            ? `command "${params.command}" is not allowed; allowed: ${allowed.join(', ')}`
            : `command "${params.command}" is not allowed; no executable is (set TASK_SHELL_ALLOW)`,
        ];
    problems.push(...environmentNameProblems(Object.keys(params.env ?? {}), config, 'params.env'));
    if (params.cwd !== undefined) problems.push(...cwdProblems(params.cwd));
    return problems;
  },
};

/** A task's cwd names a folder inside its working directory: relative, and never climbing out of it. */
function cwdProblems(cwd: string): string[] {
  if (cwd.includes('\0')) return ['params.cwd: must not contain NUL'];
  if (posix.isAbsolute(cwd)) return [`params.cwd: "${cwd}" is absolute; give a folder inside the task's working directory, relative to it`];
  const normalized = posix.normalize(cwd);
  if (normalized === '..' || normalized.startsWith('../')) return [`params.cwd: "${cwd}" leaves the task's working directory`];
  return [];
}
