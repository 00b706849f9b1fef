import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Length, Max, Min, registerDecorator } from 'class-validator';
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
  /** An executable name from TASK_SHELL_ALLOW, looked up on PATH; never run through a shell. */
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
    if (allowed.includes(params.command)) return [];
    return [
      allowed.length
        ? `command "${params.command}" is not allowed; allowed: ${allowed.join(', ')}`
        : `command "${params.command}" is not allowed; no executable is (set TASK_SHELL_ALLOW)`,
    ];
  },
};
