import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsIn, IsInt, IsObject, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { TASK_CLASSES, type TaskClass } from '#libs/contracts';
import { IsAbsentWith } from '../http/is-absent-with.js';

/** The shortest interval a schedule may tick at. */
const MIN_EVERY_MS = 1000;
const MAX_EVERY_MS = 31_536_000_000;

export class ScheduledTaskDto {
  @ApiProperty({ example: 'shell' })
  @IsString()
  @Length(1, 100)
  type!: string;

  @ApiPropertyOptional({ example: { command: 'echo', args: ['nightly'] } })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: TASK_CLASSES, default: 'normal' })
  @IsOptional()
  @IsIn(TASK_CLASSES)
  class?: TaskClass;
}

export class CreateScheduleDto {
  @ApiProperty({ example: 'nightly build' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ example: '0 3 * * *', description: 'cron pattern (5 or 6 fields); give cron or everyMs' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  @IsAbsentWith('everyMs')
  cron?: string;

  @ApiPropertyOptional({ minimum: MIN_EVERY_MS, description: 'interval in ms; give cron or everyMs' })
  @IsOptional()
  @IsInt()
  @Min(MIN_EVERY_MS)
  @Max(MAX_EVERY_MS)
  everyMs?: number;

  @ApiPropertyOptional({ example: 'Europe/Paris', description: 'IANA time zone of the cron pattern (default UTC)' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  timezone?: string;

  @ApiProperty({ type: ScheduledTaskDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => ScheduledTaskDto)
  task!: ScheduledTaskDto;
}
