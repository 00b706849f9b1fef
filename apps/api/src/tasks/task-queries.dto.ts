import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { LOG_STREAMS, TASK_STATUSES, type LogStream, type TaskStatus } from '#libs/contracts';

const MAX_PAGE = 200;
const DEFAULT_TASK_PAGE = 50;
const MAX_LOG_PAGE = 5000;
const DEFAULT_LOG_PAGE = 1000;

export class ListTasksQuery {
  @ApiPropertyOptional({ enum: TASK_STATUSES })
  @IsOptional()
  @IsIn(TASK_STATUSES)
  status?: TaskStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 100)
  type?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_TASK_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit: number = DEFAULT_TASK_PAGE;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}

export class TaskLogsQuery {
  @ApiPropertyOptional({ description: 'only chunks with a greater seq', default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  // Sequence numbers are bigints in Postgres: a larger number would fail there, not here.
  @Max(Number.MAX_SAFE_INTEGER)
  after: number = 0;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_LOG_PAGE, default: DEFAULT_LOG_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_LOG_PAGE)
  limit: number = DEFAULT_LOG_PAGE;

  @ApiPropertyOptional({ enum: LOG_STREAMS })
  @IsOptional()
  @IsIn(LOG_STREAMS)
  stream?: LogStream;

  @ApiPropertyOptional({ description: 'only chunks containing this text (case-insensitive)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  q?: string;
}
