import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { TASK_CLASSES, type TaskClass } from '#libs/contracts';
import { SECRET_NAME, SECRETS_PER_TASK_MAX } from '#libs/secrets';
import { IsAbsentWith } from '../http/is-absent-with.js';

const MAX_TIMEOUT_MS = 86_400_000;
const MAX_ATTEMPTS = 20;
/** The furthest ahead a task can be delayed: a year. */
const MAX_DELAY_MS = 31_536_000_000;
/** Environments one task may lease at once. */
const MAX_TASK_RESOURCES = 8;

export class TaskResourceDto {
  @ApiProperty({ example: 'scratch-orgs', description: "the pool's name or id" })
  @IsString()
  @Length(1, 100)
  pool!: string;
}

export class CreateTaskDto {
  @ApiProperty({ example: 'shell', description: 'a registered task type: shell, sleep, noop, ...' })
  @IsString()
  @Length(1, 100)
  type!: string;

  @ApiPropertyOptional({ example: { command: 'echo', args: ['hello'] }, description: "the type's params" })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  @ApiPropertyOptional({
    enum: TASK_CLASSES,
    default: 'normal',
    description: 'the queue it waits in: a flood of one class never delays another',
  })
  @IsOptional()
  @IsIn(TASK_CLASSES)
  class?: TaskClass;

  @ApiPropertyOptional({ description: 'run no earlier than this ISO time; SCHEDULED until then', example: '2027-01-01T09:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'runAt must be an ISO 8601 date-time' })
  runAt?: string;

  @ApiPropertyOptional({ description: 'run no earlier than this many ms from now; SCHEDULED until then' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_DELAY_MS)
  @IsAbsentWith('runAt')
  delayMs?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 10,
    default: 5,
    description: '1 runs first; orders tasks within their class and the fair share of the org',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  priority?: number;

  @ApiPropertyOptional({ description: 'the attempt fails after this long (default TASK_DEFAULT_TIMEOUT_MS)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeoutMs?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_ATTEMPTS, description: 'attempts before FAILED (default TASK_DEFAULT_MAX_ATTEMPTS)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ATTEMPTS)
  maxAttempts?: number;

  @ApiPropertyOptional({ description: 'a second create with the same key returns the first task' })
  @IsOptional()
  @Matches(/^[\w.:-]{1,200}$/, { message: 'idempotencyKey must be 1-200 letters, digits, ".", ":", "-" or "_"' })
  idempotencyKey?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'the task this one re-runs (same org); shown as `rerunOf` on the new task' })
  @IsOptional()
  @IsUUID('all', { message: 'rerunOf must be a task id' })
  rerunOf?: string;

  @ApiPropertyOptional({ type: [TaskResourceDto], description: 'environments leased before each attempt runs and released when it ends' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TASK_RESOURCES)
  @ArrayUnique((resource: TaskResourceDto) => resource?.pool, { message: 'resources must name each pool once' })
  @ValidateNested({ each: true })
  @Type(() => TaskResourceDto)
  resources?: TaskResourceDto[];

  @ApiPropertyOptional({
    type: [String],
    example: ['DEPLOY_TOKEN'],
    description: 'org secrets (by name) the task receives as environment variables; their values are masked as *** in its logs',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(SECRETS_PER_TASK_MAX)
  @ArrayUnique({ message: 'secrets must name each secret once' })
  @Matches(SECRET_NAME, { each: true, message: `each of secrets must be a secret name (${SECRET_NAME.source})` })
  secrets?: string[];
}
